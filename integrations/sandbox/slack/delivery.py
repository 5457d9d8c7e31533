"""How the local Slack hands events and commands to the app, with Slack's delivery rules.

Two transports, as in Slack:

* Events API over HTTP: a POST to the app's request URL, signed with
  ``v0=HMAC_SHA256(signing_secret, "v0:" + timestamp + ":" + body)``
  (https://api.slack.com/authentication/verifying-requests-from-slack); an event is
  acknowledged by any 2xx within the deadline.
* Socket Mode: an envelope ``{"envelope_id", "type", "payload", "accepts_response_payload",
  "retry_attempt", "retry_reason"}`` on the websocket, acknowledged by the app sending back
  ``{"envelope_id": ...}`` (https://api.slack.com/apis/socket-mode).

Retries (https://api.slack.com/apis/events-api#retries): an event that is not acknowledged is
sent again up to three more times, with ``X-Slack-Retry-Num`` (1..3) and
``X-Slack-Retry-Reason`` (``http_timeout``, ``http_error``...), each signed with a fresh
timestamp. With ``retry_spacing`` (:data:`RETRY_SPACING`: 1, 5 and 30 minutes, as the task
brief for issue 11 gives Slack's spacing) each retry waits that long on the sandbox clock after
the previous attempt (a test moves the clock and calls :meth:`Delivery.clock_moved`); without,
retries follow at once. Slash commands and interactive payloads are not retried.

Socket Mode limits (https://api.slack.com/apis/socket-mode): at most :data:`MAX_SOCKETS`
connections per app (a further one is told ``too_many_websockets`` and closed), and a
``disconnect`` with reason ``warning`` precedes a ``refresh_requested`` one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

_log = logging.getLogger(__name__)

MAX_RETRIES = 3
RETRY_SPACING = (60.0, 300.0, 1800.0)
"""Seconds between an attempt and the next retry."""
MAX_SOCKETS = 10
# Attempt outcome -> the X-Slack-Retry-Reason of the next try (Slack's Events API docs list
# http_timeout, connection_failed, http_error among the reasons).
_RETRY_REASONS = {"http_timeout": "http_timeout", "lost": "connection_failed",
                  "http_error": "http_error", "refused": "http_error"}


@dataclass
class Attempt:
    """One delivery attempt: ``outcome`` is ``acked``, ``http_timeout``, ``http_error``,
    ``lost`` (nobody connected, or dropped on demand) or ``refused`` (HTTP 4xx)."""

    event_id: str | None
    kind: str
    retry_num: int
    outcome: str
    status: int | None = None


@dataclass
class AckResult:
    """What the app answered to a delivery: ``body`` is the ack payload (a dict) or None."""

    acked: bool
    body: dict | None = None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature ``v0=<hex>`` for ``body`` sent at ``timestamp``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SocketPool:
    """The app's open Socket Mode connections and the envelopes awaiting their ack."""

    def __init__(self) -> None:
        self._sockets: list[web.WebSocketResponse] = []
        self._pending: dict[str, asyncio.Future] = {}
        self._connected = asyncio.Condition()

    async def socket_opened(self, ws: web.WebSocketResponse) -> None:
        """A new Socket Mode connection: the newest one receives envelopes."""
        async with self._connected:
            self._sockets.append(ws)
            self._connected.notify_all()

    async def socket_closed(self, ws: web.WebSocketResponse) -> None:
        """Forget a closed connection."""
        async with self._connected:
            if ws in self._sockets:
                self._sockets.remove(ws)
            self._connected.notify_all()

    def socket_acked(self, message: dict) -> None:
        """The app acknowledged an envelope (``{"envelope_id", "payload"?}``)."""
        fut = self._pending.pop(message.get("envelope_id", ""), None)
        if fut is not None and not fut.done():
            fut.set_result(AckResult(True, message.get("payload")))

    @property
    def socket_count(self) -> int:
        """Open Socket Mode connections."""
        return sum(1 for ws in self._sockets if not ws.closed)

    async def wait_sockets(self, predicate: Callable[[int], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(open connection count)`` holds; ``TimeoutError`` otherwise."""
        async def _wait() -> None:
            async with self._connected:
                await self._connected.wait_for(lambda: predicate(self.socket_count))
        await asyncio.wait_for(_wait(), timeout)

    async def disconnect_sockets(self, reason: str = "refresh_requested", *,
                                 warn: bool = False) -> list[web.WebSocketResponse]:
        """Ask every connected client to reconnect (``{"type": "disconnect"}``), after a
        ``warning`` one if ``warn``; returns the connections asked."""
        asked = [ws for ws in self._sockets if not ws.closed]
        for ws in asked:
            for why in (["warning"] if warn else []) + [reason]:
                await ws.send_str(json.dumps({"type": "disconnect", "reason": why,
                                              "debug_info": {"host": "local-slack"}}))
        return asked

    async def wait_replaced(self, old: list[web.WebSocketResponse], timeout: float = 5.0) -> None:
        """Wait until every connection in ``old`` is gone and a newer one is open."""
        def swapped() -> bool:
            live = [ws for ws in self._sockets if not ws.closed]
            return bool(live) and not any(ws in old for ws in live)

        async def _wait() -> None:
            async with self._connected:
                await self._connected.wait_for(swapped)
        await asyncio.wait_for(_wait(), timeout)


class Delivery(SocketPool):
    """Sends envelopes to the app over HTTP or Socket Mode and applies Slack's retry rules.

    ``clock`` gives the signing timestamp (seconds); ``ack_timeout`` is Slack's 3 s deadline.
    ``away`` makes every attempt ``lost`` (the app is down and misses what happens);
    :meth:`lose_next` drops only the next attempts, which Slack then retries.
    """

    def __init__(self, *, signing_secret: str, clock: Callable[[], float] = time.time,
                 ack_timeout: float = 3.0, retry_spacing: tuple[float, ...] | None = None) -> None:
        self.signing_secret = signing_secret
        self.clock = clock
        self.ack_timeout = ack_timeout
        self.retry_spacing = retry_spacing
        self._clock = asyncio.Condition()
        self.http_url: str | None = None
        self.away = False
        self.attempts: list[Attempt] = []
        self._lose = 0
        self._short_deadline: float | None = None
        SocketPool.__init__(self)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close sockets and the HTTP session; pending acks resolve as not acked."""
        for ws in list(self._sockets):
            await ws.close()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_result(AckResult(False))
        if self._session is not None:
            await self._session.close()

    # -- sending ----------------------------------------------------------------------------

    def short_deadline_next(self, seconds: float) -> None:
        """Give only the next attempt ``seconds`` (instead of ``ack_timeout``) to be
        acknowledged: a test of an app that will not ack need not wait Slack's 3 s, while the
        retries that follow keep the full deadline, however loaded the machine."""
        self._short_deadline = seconds

    def _deadline(self) -> float:
        """Seconds the attempt being made waits for its ack."""
        deadline, self._short_deadline = self._short_deadline or self.ack_timeout, None
        return deadline

    def lose_next(self, count: int = 1) -> None:
        """Drop the next ``count`` delivery attempts as if the network lost them."""
        self._lose += count

    async def send_event(self, body: dict, first_done: asyncio.Event | None = None) -> AckResult:
        """Deliver an Events API body, retrying up to three times (spaced, see the module);
        returns the final result. ``first_done`` is set once the first attempt is over."""
        reason, last = "", self.clock()
        for retry_num in range(MAX_RETRIES + 1):
            if retry_num and self.retry_spacing:
                await self._wait_until(last + self.retry_spacing[retry_num - 1])
            last = self.clock()
            result, outcome = await self._attempt("events_api", body, retry_num, reason)
            if first_done is not None:
                first_done.set()
            if result.acked:
                return result
            reason = _RETRY_REASONS[outcome]
        return AckResult(False)

    def last_result(self, body: dict) -> AckResult:
        """Whether the latest attempt to deliver ``body`` was acknowledged."""
        attempt = next(a for a in reversed(self.attempts) if a.event_id == body.get("event_id"))
        return AckResult(attempt.outcome == "acked")

    async def _wait_until(self, due: float) -> None:
        async with self._clock:
            await self._clock.wait_for(lambda: self.clock() >= due)

    async def clock_moved(self) -> None:
        """The sandbox clock moved: retries now due are sent."""
        async with self._clock:
            self._clock.notify_all()

    async def send_once(self, body: dict, *, retry_num: int = 0, retry_reason: str = "",
                        kind: str = "events_api") -> AckResult:
        """One attempt, no retries: for replaying a given retry of an event."""
        result, _ = await self._attempt(kind, body, retry_num, retry_reason)
        return result

    async def send_command(self, form: dict[str, str]) -> AckResult:
        """Deliver a slash command (never retried by Slack)."""
        result, _ = await self._attempt("slash_commands", form, 0, "")
        return result

    async def send_interactive(self, payload: dict) -> AckResult:
        """Deliver an interactive payload (``block_actions``, ``view_submission``): over HTTP
        a form field ``payload`` holding the JSON, in Socket Mode an ``interactive`` envelope
        (https://api.slack.com/interactivity/handling#payloads); never retried."""
        result, _ = await self._attempt("interactive", payload, 0, "")
        return result

    async def _attempt(self, kind: str, body: dict, retry_num: int,
                       reason: str) -> tuple[AckResult, str]:
        event_id = body.get("event_id")
        if self.away or self._lose:
            if not self.away:
                self._lose -= 1
            self.attempts.append(Attempt(event_id, kind, retry_num, "lost"))
            return AckResult(False), "lost"
        if self.http_url is not None:
            result, outcome, status = await self._post(kind, body, retry_num, reason)
        else:
            result, outcome, status = await self._envelope(kind, body, retry_num, reason)
        self.attempts.append(Attempt(event_id, kind, retry_num, outcome, status))
        return result, outcome

    async def _post(self, kind: str, body: dict, retry_num: int,
                    reason: str) -> tuple[AckResult, str, int | None]:
        if kind == "slash_commands":
            raw = urlencode(body).encode()
            content_type = "application/x-www-form-urlencoded"
        elif kind == "interactive":
            raw = urlencode({"payload": json.dumps(body)}).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            raw = json.dumps(body).encode()
            content_type = "application/json"
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.signing_secret, timestamp, raw),
        }
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = reason
        return await self.post_raw(raw, headers)

    async def post_raw(self, raw: bytes, headers: dict[str, str]) -> tuple[AckResult, str, int | None]:
        """POST ``raw`` to the app's request URL as is; for signature tests."""
        if self.http_url is None:
            raise RuntimeError("no HTTP request URL set (LocalSlack.use_http)")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                self.http_url, data=raw, headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._deadline()),
            ) as resp:
                text = await resp.text()
                if 200 <= resp.status < 300:
                    payload = None
                    if text and resp.content_type == "application/json":
                        payload = json.loads(text)
                    elif text:
                        payload = {"text": text}
                    return AckResult(True, payload), "acked", resp.status
                outcome = "refused" if 400 <= resp.status < 500 else "http_error"
                return AckResult(False), outcome, resp.status
        except TimeoutError:
            return AckResult(False), "http_timeout", None
        except aiohttp.ClientConnectionError:
            return AckResult(False), "lost", None

    async def _envelope(self, kind: str, body: dict, retry_num: int,
                        reason: str) -> tuple[AckResult, str, int | None]:
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            return AckResult(False), "lost", None
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": body,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope.update(retry_attempt=retry_num, retry_reason=reason)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = fut
        try:
            await live[-1].send_str(json.dumps(envelope))
            result = await asyncio.wait_for(fut, self._deadline())
        except TimeoutError:
            return AckResult(False), "http_timeout", None
        except ConnectionError:
            return AckResult(False), "lost", None
        finally:
            self._pending.pop(envelope_id, None)
        return result, ("acked" if result.acked else "lost"), None
