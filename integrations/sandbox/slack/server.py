"""A local Slack: Web API, Events API, Socket Mode and simulated people, on 127.0.0.1.

The real ``slack_sdk`` / ``slack_bolt`` talk to it unchanged: point
``AsyncWebClient(base_url=local.base_url)`` at it (trailing slash included), then either run
``AsyncSocketModeHandler`` (``apps.connections.open`` answers with this server's websocket)
or serve ``app.web_app()`` and call :meth:`LocalSlack.use_http`.

Usage::

    slack = LocalSlack()
    await slack.start()
    slack.add_user("U1", "ana", locale="en-US"); slack.add_channel("C1", "plan")
    ...  # start the app against slack.base_url
    ts = await slack.user_replies("U1", "C1", section_ts, "Yes, but...")
    answer = await slack.user_runs_command("U1", "C1", "open", plan="sample")
    await slack.stop()

Every people method returns once Slack's delivery of the resulting event is over (acked, or
retried and given up), so with an app that handles before it acks, the store is up to date
when it returns. Events Slack sends because the app itself called a method are delivered in
the background; :meth:`LocalSlack.settle` waits for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import WSMsgType, web

from integrations.sandbox.slack.delivery import MAX_SOCKETS, AckResult, Delivery
from integrations.sandbox.slack.interactive import Interactive
from integrations.sandbox.slack.people import CommandAnswer, SlackPeople, _Command
from integrations.sandbox.slack.webapi import (
    WebApi,
)
from integrations.sandbox.slack.workspace import (
    Message,
    SlackApiFailure,
    User,
    Workspace,
)

_log = logging.getLogger(__name__)

GRANTED_SCOPES = ("commands", "chat:write", "reactions:write", "reactions:read",
                  "channels:history", "groups:history", "channels:read", "groups:read",
                  "users:read", "usergroups:read", "files:write")
"""The bot scopes of integrations/slack/manifest.yml, granted by default."""


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


class LocalSlack(SlackPeople):
    """One workspace served over HTTP and websocket on 127.0.0.1 (port chosen by the OS).

    ``clock`` drives message ``ts`` and signing timestamps (seconds since the epoch; bolt checks
    signatures against the real ``time.time()``, so a test moves it only to make requests stale).
    ``ack_timeout`` is how long an event may wait for its acknowledgement (Slack: 3 s).
    """

    def __init__(self, *, team_id: str = "T0PLANBOT", bot_user_id: str = "U0PLANBOT",
                 bot_id: str = "B0PLANBOT", app_id: str = "A0PLANBOT",
                 bot_token: str = "xoxb-local", app_token: str = "xapp-local",
                 signing_secret: str = "local-signing-secret",
                 clock: Callable[[], float] = time.time, ack_timeout: float = 3.0,
                 retry_spacing: tuple[float, ...] | None = None) -> None:
        self.bot_token, self.app_token, self.signing_secret = bot_token, app_token, signing_secret
        self.app_id = app_id
        self.clock = clock
        self.workspace = Workspace(team_id, clock=clock)
        self.workspace.add_user(User(bot_user_id, "planbot", is_bot=True, bot_id=bot_id))
        self.delivery = Delivery(signing_secret=signing_secret, clock=clock, ack_timeout=ack_timeout,
                                 retry_spacing=retry_spacing)
        self.api = WebApi(self.workspace, bot_user_id=bot_user_id, bot_id=bot_id, app_id=app_id,
                          emit=self._emit_later, socket_url=self._new_socket_url,
                          upload_url=lambda fid: f"{self.url}/upload/{fid}")
        self.scopes: set[str] = set(GRANTED_SCOPES)
        """The bot token's scopes, sent back in ``x-oauth-scopes`` as Slack does; a test
        removes one to play an app installed without it."""
        self.interactive = Interactive(self)
        """Buttons and modals: ``interactive.user_clicks``, ``interactive.user_submits_view``."""
        self.requests: list[RecordedCall] = []
        self.events: list[dict] = []
        self._rate_limits: dict[str, list[int | None]] = {}
        self._failures: dict[str, list[str | None]] = {}
        self._channel_failures: dict[str, str] = {}
        self._tickets: set[str] = set()
        self._commands: dict[str, _Command] = {}
        self._background: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.people: dict[str, User] = {}
        self.channel_id = ""
        self.facilitator_group_id = ""

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> Self:
        """Listen on 127.0.0.1 on a free port; returns ``self``."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket/{ticket}", self._socket)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop delivering, close sockets and the listener."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL for ``AsyncWebClient(base_url=...)`` (trailing slash)."""
        return f"{self.url}/api/"

    # -- set-up and on-demand behaviour -----------------------------------------------------

    def seed_cast(self) -> Self:
        """The local Discord's cast, on Slack: channel ``channel_id`` (#plan-de-quartier);
        ``people`` by name: ``admin``, ``alice`` (in the facilitator user group
        ``facilitator_group_id``), ``bob`` (en-US), ``chloe``, ``dan`` (en-GB), and
        ``otherbot`` (another app's bot). Returns ``self``."""
        self.channel_id, self.facilitator_group_id = "C0PLANDEQ", "S0ANIMATION"
        self.add_channel(self.channel_id, "plan-de-quartier")
        cast = (("admin", "fr-FR"), ("alice", "fr-FR"), ("bob", "en-US"), ("chloe", "fr-CA"),
                ("dan", "en-GB"))
        for name, locale in cast:
            self.add_user(f"U0{name.upper()}", name, locale=locale)
        self.add_user("U0OTHERBOT", "otherbot", locale="en-US", is_bot=True, bot_id="B0OTHERBOT")
        self.people = {u.name: u for u in self.workspace.users.values() if u.id != self.api.bot_user_id}
        self.add_usergroup(self.facilitator_group_id, "animation", [self.people["alice"].id])
        return self

    def add_user(self, user_id: str, name: str, *, locale: str = "fr-FR",
                 is_bot: bool = False, bot_id: str | None = None) -> None:
        """Add a member (or another bot: ``is_bot=True`` with a ``bot_id``)."""
        self.workspace.add_user(User(user_id, name, locale=locale, is_bot=is_bot, bot_id=bot_id))

    def add_channel(self, channel_id: str, name: str, *, bot_member: bool = True) -> None:
        """Add a public channel; unless ``bot_member``, the app must be invited before it can
        post there (``chat.postMessage`` answers ``not_in_channel``)."""
        self.workspace.add_channel(channel_id, name)
        if bot_member:
            self.invite_bot(channel_id)

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str]) -> None:
        """Add a user group (e.g. the facilitators)."""
        self.workspace.add_usergroup(group_id, handle, user_ids)

    def use_http(self, request_url: str | None) -> None:
        """Deliver over HTTP to ``request_url`` (Events API); ``None`` returns to Socket Mode."""
        self.delivery.http_url = request_url

    def set_away(self, away: bool) -> None:
        """While away, every event is lost (the app is down and Slack gives up)."""
        self.delivery.away = away

    def invite_bot(self, channel_id: str) -> None:
        """``/invite @planbot`` in ``channel_id``."""
        self.workspace.members.setdefault(channel_id, set()).add(self.api.bot_user_id)

    def fail_next(self, method: str, error: str, *, times: int = 1, nth: int = 1) -> None:
        """Answer ``times`` calls of ``method``, from the ``nth`` one on, with
        ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, []).extend([None] * (nth - 1) + [error] * times)

    def rate_limit(self, method: str, *, retry_after: int = 0, times: int = 1, nth: int = 1) -> None:
        """Answer ``times`` calls of ``method``, from the ``nth`` one on (a 429 on the 9th
        post: ``nth=9``), with 429 and ``Retry-After``."""
        self._rate_limits.setdefault(method, []).extend([None] * (nth - 1) + [retry_after] * times)

    async def disconnect_socket(self, *, wait: bool = True, timeout: float = 5.0,
                                warn: bool = False) -> None:
        """Send ``{"type": "disconnect"}`` (after a ``warning`` one if ``warn``); the client
        opens a new connection and closes the old one. With ``wait``, return once that swap
        is done (bounded by ``timeout``)."""
        old = await self.delivery.disconnect_sockets(warn=warn)
        if wait:
            await self.delivery.wait_replaced(old, timeout)

    async def wait_connected(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``count`` Socket Mode connections are open."""
        await self.delivery.wait_sockets(lambda n: n >= count, timeout)

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every background delivery (events caused by the app's calls) is over."""
        async def _drain() -> None:
            while self._background:
                await asyncio.gather(*list(self._background), return_exceptions=True)
        await asyncio.wait_for(_drain(), timeout)

    def calls(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one method, in order."""
        return [c for c in self.requests if c.method == method]

    # -- world state, for assertions ---------------------------------------------------------

    def messages(self, channel_id: str) -> list[Message]:
        """Top-level messages of a channel (broadcast replies included), oldest first."""
        return self.workspace.top_level(channel_id)

    def thread_messages(self, thread_id: str, channel_id: str | None = None) -> list[Message]:
        """A thread's replies (not its parent), oldest first. ``channel_id`` may be left out
        (as on the local Discord, whose thread ids are unique): the channel holding a message
        with ``ts == thread_id`` is used."""
        if channel_id is None:
            channel_id = next(c for c in self.workspace.channels
                              if thread_id in self.workspace.channel_messages(c))
        return self.workspace.thread(channel_id, thread_id)[1:]

    def message(self, channel_id: str, message_id: str) -> Message:
        """One message by ``ts``."""
        return self.workspace.message(channel_id, message_id)

    # -- events -----------------------------------------------------------------------------

    def event_body(self, event: dict, *, event_id: str | None = None) -> dict:
        """Wrap ``event`` in an Events API ``event_callback`` body with a fresh ``event_id``."""
        return {
            "token": "verification-token", "team_id": self.workspace.team_id,
            "api_app_id": self.app_id, "event": event, "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(6).upper(),
            "event_time": int(self.clock()),
            "authorizations": [{"enterprise_id": None, "team_id": self.workspace.team_id,
                                "user_id": self.api.bot_user_id, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }

    async def send_event(self, event: dict) -> AckResult:
        """Deliver ``event`` with Slack's retries; the body sent is kept in :attr:`events`.

        With spaced retries, returns after the first attempt (its result); the retries go on
        in the background as the clock moves (:meth:`clock_moved`; :meth:`settle` waits).
        """
        body = self.event_body(event)
        self.events.append(body)
        if not self.delivery.retry_spacing:
            return await self.delivery.send_event(body)
        first = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self.delivery.send_event(body, first))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await first.wait()
        return self.delivery.last_result(body)

    async def clock_moved(self) -> None:
        """The test moved :attr:`clock`: retries now due are delivered."""
        await self.delivery.clock_moved()

    async def redeliver(self, body: dict, retry_num: int, reason: str = "http_timeout") -> AckResult:
        """Send one retry of an earlier body (``X-Slack-Retry-Num: retry_num``), freshly signed."""
        return await self.delivery.send_once(body, retry_num=retry_num, retry_reason=reason)

    def _emit_later(self, event: dict) -> None:
        task = asyncio.get_running_loop().create_task(self.send_event(event))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _message_event(self, msg: Message) -> dict:
        return {**msg.to_api(), "channel": msg.channel, "event_ts": msg.ts,
                "channel_type": "channel"}

    def _answer(self, token: str, body: dict) -> None:
        pending = self._commands.get(token)
        if pending is None:
            return
        pending.answers.append(CommandAnswer(
            text=body.get("text") or "",
            ephemeral=body.get("response_type", "ephemeral") != "in_channel",
            blocks=body.get("blocks"),
        ))
        pending.arrived.set()

    # -- HTTP handlers ----------------------------------------------------------------------

    def _new_socket_url(self) -> str:
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
        handlers = {**self.api.methods(), **self.interactive.methods()}
        if method not in handlers:
            self.requests.append(RecordedCall(method, shown, 200, "unknown_method"))
            return self._json({"ok": False, "error": "unknown_method"})
        waits = self._rate_limits.get(method)
        retry_after = waits.pop(0) if waits else None
        if retry_after is not None:
            body = {"ok": False, "error": "ratelimited"}
            self.requests.append(RecordedCall(method, shown, 429, "ratelimited", body))
            return self._json(body, 429, {"Retry-After": str(retry_after)})
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        error = "not_authed" if not token else ("invalid_auth" if token != expected else None)
        if error is None and self._failures.get(method):
            error = self._failures[method].pop(0)
        if error is None:
            error = self._channel_failures.get(params.get("channel") or params.get("channel_id") or "")
        if error is None:
            try:
                body = {"ok": True, **handlers[method](params)}
            except SlackApiFailure as exc:
                error = exc.code
        if error is not None:
            body = {"ok": False, "error": error}
        self.requests.append(RecordedCall(method, shown, 200, error, body))
        # Every Web API answer to a bot token says which scopes it holds
        # (https://api.slack.com/authentication/oauth-v2#using, "x-oauth-scopes").
        return self._json(body, headers={"x-oauth-scopes": ",".join(sorted(self.scopes))})

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
        self.requests.append(RecordedCall("response_url", body, 200))
        self._answer(request.match_info["token"], body)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.api.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404)
        upload["data"] = await request.read()
        self.requests.append(RecordedCall("upload", {"file_id": upload["id"]}, 200))
        return web.Response(text="OK - " + str(len(upload["data"])))

    async def _unknown_route(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedCall(request.path, dict(request.query), 404, "unknown_route"))
        return web.Response(status=404)
