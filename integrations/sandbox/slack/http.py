"""The local Slack's HTTP and websocket front on 127.0.0.1: Web API calls (recorded, with
the faults a test asked for), Socket Mode websockets, ``response_url`` posts and file
uploads. The workspace behind it is :class:`~integrations.sandbox.slack.webapi.WebApi`'s."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from integrations.sandbox.slack.delivery import MAX_SOCKETS, Delivery
from integrations.sandbox.slack.workspace import SlackApiFailure


@dataclass
class RecordedCall:
    """One request the app made: ``method`` is the Web API method or the route (e.g.
    ``response_url``); ``status`` the HTTP status; ``error`` Slack's error code, if any; ``response`` the JSON
    body of a Web API answer."""

    method: str
    params: dict[str, Any]
    status: int
    error: str | None = None
    response: dict | None = None


@dataclass
class Hold:
    """One Web API call kept waiting until the test calls :meth:`release`, as a platform
    slowed by its rate limits would: ``reached`` is set once the call arrived. With
    ``answered`` the call is carried out first and only its answer waits (the message exists
    before the app knows its ``ts``); without, it is carried out once released."""

    answered: bool = False
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()

    async def wait(self) -> None:
        self.reached.set()
        await self.released.wait()


@dataclass
class Faults:
    """The failures a test asked for: per method (an error code or a 429's ``Retry-After``,
    ``None`` for a call that goes through) and per channel (every call naming it fails)."""

    rate_limits: dict[str, list[int | None]] = field(default_factory=dict)
    failures: dict[str, list[str | None]] = field(default_factory=dict)
    channel_failures: dict[str, str] = field(default_factory=dict)
    holds: dict[str, list[Hold]] = field(default_factory=dict)

    def hold(self, method: str, *, answered: bool = False) -> Hold:
        """Keep the next call of ``method`` waiting until the returned :class:`Hold` is
        released."""
        held = Hold(answered)
        self.holds.setdefault(method, []).append(held)
        return held

    def next_hold(self, method: str) -> Hold | None:
        """The hold this call of ``method`` waits on, if any."""
        holds = self.holds.get(method)
        return holds.pop(0) if holds else None

    def fail_next(self, method: str, error: str, *, times: int = 1, nth: int = 1) -> None:
        self.failures.setdefault(method, []).extend([None] * (nth - 1) + [error] * times)

    def rate_limit(self, method: str, *, retry_after: int = 0, times: int = 1, nth: int = 1) -> None:
        self.rate_limits.setdefault(method, []).extend([None] * (nth - 1) + [retry_after] * times)

    def next_retry_after(self, method: str) -> int | None:
        """The ``Retry-After`` of this call of ``method`` if it is rate limited."""
        waits = self.rate_limits.get(method)
        return waits.pop(0) if waits else None

    def next_error(self, method: str, params: dict[str, Any]) -> str | None:
        """The error this call of ``method`` must answer with, if any."""
        if self.failures.get(method):
            error = self.failures[method].pop(0)
            if error is not None:
                return error
        return self.channel_failures.get(params.get("channel") or params.get("channel_id") or "")


class HttpFront:
    """Serves the routes; ``handlers`` gives the Web API methods (name -> handler),
    ``tokens`` the token a method expects, ``scopes`` the bot token's scopes (sent back in
    ``x-oauth-scopes``), ``on_response`` takes each ``response_url`` post (token, body) and says the error it
    is refused with, if any."""

    def __init__(self, *, delivery: Delivery, app_id: str,
                 handlers: Callable[[], dict[str, Callable[[dict], dict]]],
                 tokens: Callable[[str], str], scopes: Callable[[], set[str]],
                 uploads: dict[str, dict[str, Any]],
                 on_response: Callable[[str, dict], str | None]) -> None:
        self.delivery, self.app_id = delivery, app_id
        self._handlers, self._tokens, self._scopes = handlers, tokens, scopes
        self._uploads, self._on_response = uploads, on_response
        self.faults = Faults()
        self.requests: list[RecordedCall] = []
        self._tickets: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 on ``port`` (0: a free port; :attr:`port` tells which)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket/{ticket}", self._socket)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def new_socket_url(self) -> str:
        """A Socket Mode URL with a fresh one-use ticket."""
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/socket/{ticket}"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(await request.post())
        return params

    def _json(self, body: dict, status: int = 200, headers: dict | None = None) -> web.Response:
        return web.Response(text=json.dumps(body), status=status, headers=headers,
                            content_type="application/json")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        shown = {k: v for k, v in params.items() if k != "token"}
        handlers = self._handlers()
        if method not in handlers:
            self.requests.append(RecordedCall(method, shown, 200, "unknown_method"))
            return self._json({"ok": False, "error": "unknown_method"})
        retry_after = self.faults.next_retry_after(method)
        if retry_after is not None:
            body = {"ok": False, "error": "ratelimited"}
            self.requests.append(RecordedCall(method, shown, 429, "ratelimited", body))
            return self._json(body, 429, {"Retry-After": str(retry_after)})
        expected = self._tokens(method)
        error = "not_authed" if not token else ("invalid_auth" if token != expected else None)
        if error is None:
            error = self.faults.next_error(method, params)
        held = self.faults.next_hold(method)
        if held is not None and not held.answered:
            await held.wait()
        if error is None:
            try:
                body = {"ok": True, **handlers[method](params)}
            except SlackApiFailure as exc:
                error = exc.code
        if held is not None and held.answered:
            await held.wait()
        if error is not None:
            body = {"ok": False, "error": error}
        self.requests.append(RecordedCall(method, shown, 200, error, body))
        # Every Web API answer to a bot token says which scopes it holds
        # (https://api.slack.com/authentication/oauth-v2#using, "x-oauth-scopes").
        return self._json(body, headers={"x-oauth-scopes": ",".join(sorted(self._scopes()))})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.match_info["ticket"]
        if ticket not in self._tickets:
            return web.Response(status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if self.delivery.socket_count >= MAX_SOCKETS:
            await ws.send_str(json.dumps({"type": "disconnect", "reason": "too_many_websockets",
                                          "debug_info": {"host": "local-slack"}}))
            await ws.close()
            return ws
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": self.delivery.socket_count + 1,
            "debug_info": {"host": "local-slack", "approximate_connection_time": 3600},
            "connection_info": {"app_id": self.app_id},
        }))
        await self.delivery.socket_opened(ws)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self.delivery.socket_acked(json.loads(frame.data))
        finally:
            await self.delivery.socket_closed(ws)
        return ws

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        error = self._on_response(request.match_info["token"], body)
        self.requests.append(RecordedCall("response_url", body, 404 if error else 200, error))
        if error:
            return self._json({"ok": False, "error": error}, status=404)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self._uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404)
        upload["data"] = await request.read()
        self.requests.append(RecordedCall("upload", {"file_id": upload["id"]}, 200))
        return web.Response(text="OK - " + str(len(upload["data"])))

    async def _unknown_route(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedCall(request.path, dict(request.query), 404, "unknown_route"))
        return web.Response(status=404)
