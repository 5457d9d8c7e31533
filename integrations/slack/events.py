"""Slack's events into the core: translated, recorded, then acknowledged.

:class:`SlackEvents` takes an Events API body of a kind planbot subscribes to
(``reaction_added``, ``reaction_removed``, ``message`` with every subtype: replies,
``thread_broadcast``, ``message_changed``, ``message_deleted``; others are ignored quietly),
translates it (:mod:`integrations.slack.translate`) and records it in the core.

Acknowledging: record first, then ack. Slack delivers an event at least once: until it is
acknowledged it is retried, up to three times over about five minutes
(https://api.slack.com/apis/events-api#retries). The core records each event in its inbox,
one short transaction shared with the events arriving meanwhile (``Core.capture``; the local
journal when the store is unreachable), and applies it afterwards, exactly once, in arrival
order; the inbox's unique delivery key (Slack's ``event_id``) makes a retry one row however
late it comes. Recording before acking loses nothing: if the process dies before the record,
Slack has no ack and sends the event again; after it, the event waits in the inbox for
whichever process applies it. The ack waits for the record only (``bench/bench_slack.py``
measures it), not for applying. Should recording ever take longer than ``handle_budget``
seconds (a locked database before the journal takes over), the event is acknowledged anyway
and the record finishes in the background, so that Slack does not pile retries on a slow
store; that window is covered by reconciliation, which the adapter runs on every Socket Mode
(re)connection and at HTTP start. An event that cannot be kept at all (``JournalFull``)
raises: the request is answered 500 / the envelope not acked, and Slack retries.

Two ways in, one handling:

* Socket Mode: bolt dispatches each envelope to the listeners :meth:`SlackEvents.listen`
  registers (bolt answers 404 to an event nobody listens to, and Slack would retry it).
* HTTP mode: :class:`EventsEndpoint` serves the request URL. A JSON body (the Events API)
  must carry Slack's signature (else 401, as bolt answers); a signed ``event_callback`` of a
  subscribed kind is handled there directly. Anything else (slash commands and
  interactivity, which come as forms; ``url_verification``; other kinds) goes to bolt's
  dispatch as it came, which verifies the signature again. Why: bolt's dispatch of one event
  (a request object, its middleware chain, a Web API client and a context built per
  request, every listener's matchers, keyword arguments injected by signature) cost about
  130 µs of CPU, twice what the HTTP server and the record's share of the loop cost, and a
  third of a ``planbot run`` process' CPU per event under a burst (``bench/bench_processes.py``
  with py-spy). The signature is checked with the same code bolt uses (slack-sdk's
  ``SignatureVerifier``: HMAC-SHA256 of ``v0:<timestamp>:<body>`` with the signing secret,
  the timestamp within five minutes; https://api.slack.com/authentication/verifying-requests-from-slack),
  and bolt's single-workspace authorisation amounts to knowing the app's bot user, which
  :meth:`integrations.slack.platform.SlackPlatform.bot_user_id` asks once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.core import Core
from bot.events import InboundEvent
from integrations.slack.directory import Directory
from integrations.slack.platform import SlackPlatform
from integrations.slack.translate import MalformedEvent, message_event, reaction_event

_log = logging.getLogger(__name__)
KINDS = frozenset({"reaction_added", "reaction_removed", "message"})
"""The event types planbot subscribes to (``manifest.yml``, ``bot_events``)."""


class SlackEvents:
    """Translate and record events (module docstring). ``track`` keeps a record that
    outlives ``handle_budget`` seconds running in the background."""

    def __init__(self, core: Core, platform: SlackPlatform, directory: Directory, *,
                 handle_budget: float, track: Callable[[asyncio.Future[Any]], object]) -> None:
        self.core = core
        self._platform = platform
        self._directory = directory
        self.handle_budget = handle_budget
        self._track = track

    def listen(self, app: AsyncApp) -> None:
        """Register :meth:`handle` with bolt for every subscribed kind (Socket Mode)."""
        async def listener(body: dict) -> None:
            await self.handle(body)

        for kind in sorted(KINDS):
            app.event(kind)(listener)

    async def handle(self, body: dict) -> None:
        """Translate the Events API ``body`` and record it, within ``handle_budget``; raises
        ``bot.journal.JournalFull`` when it could not be kept (do not acknowledge). A
        malformed event is logged and dropped, and acknowledged: a retry would be as
        malformed, and in the store its values could make statements invalid."""
        bot_user = await self._platform.bot_user_id()
        try:
            if body["event"]["type"] == "message":
                event = message_event(body, bot_user)
            else:
                event = reaction_event(body, bot_user)
        except MalformedEvent as err:
            _log.warning("skipped a malformed Slack event (its field %s)", err.field)
            return
        if body["event"]["type"] != "message":
            # Another app's reaction names only a user: whether it is a bot is looked up.
            actor = getattr(event, "actor", None)
            if actor is not None and not actor.is_bot \
                    and await self._directory.is_bot(actor.user_id):
                return
        await self._capture(event)

    async def _capture(self, event: InboundEvent | None) -> None:
        if event is None:
            return
        record = asyncio.ensure_future(self.core.capture(event))
        if not record.done():
            await _within(record, self.handle_budget)
        if record.done():
            record.result()  # JournalFull and failures reach the caller: no ack
            return
        _log.warning("store write for %s exceeds %.1f s; acknowledging before it ends",
                     event.event_key, self.handle_budget)
        self._track(record)


async def _within(work: asyncio.Future[Any], seconds: float) -> None:
    """Return when ``work`` is done or ``seconds`` have passed, whichever comes first,
    leaving ``work`` running: what ``asyncio.wait`` does for one future, without its checks
    and sets (``asyncio.wait`` with its timer took 5 % of a planbot process' CPU samples in a
    burst, py-spy); ``wait_for`` would need a ``shield``, a future and callbacks more, not to
    cancel it."""
    woken = asyncio.get_running_loop().create_future()
    timer = woken.get_loop().call_later(seconds, _wake, woken)
    work.add_done_callback(partial(_wake, woken))
    try:
        await woken
    finally:
        timer.cancel()


def _wake(woken: asyncio.Future[None], *_: object) -> None:
    if not woken.done():
        woken.set_result(None)


class EventsEndpoint:
    """The aiohttp handler of the HTTP-mode request URL (module docstring): JSON bodies
    checked against ``signing_secret``, subscribed events to ``events``, the rest to ``app``
    (bolt)."""

    def __init__(self, app: AsyncApp, signing_secret: str, events: SlackEvents) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._events = events

    def server(self, path: str) -> web.Server:
        """aiohttp's low-level server answering POST ``path`` (404 elsewhere, 405 to other
        methods, as a router would). No ``web.Application``: its router and request set-up
        cost 10 to 20 µs of the 45 to 55 µs aiohttp spent per request (``bench/bench_processes.py``
        puts planbot's whole cost per event near 130 µs)."""
        async def answer(request: web.BaseRequest) -> web.StreamResponse:
            if request.path != path:
                return web.Response(status=404)
            if request.method != "POST":
                return web.Response(status=405, headers={"Allow": "POST"})
            return await self.serve(request)

        return web.Server(answer, access_log=None)

    async def serve(self, request: web.BaseRequest) -> web.Response:
        """Answer one POST to the request URL."""
        raw = await request.read()
        if request.content_type != "application/json":  # commands, interactivity
            return await self._bolt(request, raw)
        body = self._verified(request, raw)
        if not isinstance(body, dict):
            return web.json_response({"error": "invalid request"}, status=401)  # as bolt
        event = body.get("event")
        if body.get("type") != "event_callback" or not isinstance(event, dict) \
                or event.get("type") not in KINDS:  # url_verification, unsubscribed kinds
            return await self._bolt(request, raw)
        try:
            await self._events.handle(body)
        except Exception:  # noqa: BLE001 - as bolt answers a listener that raised
            # No ack: Slack sends the event again (JournalFull, an unexpected failure).
            _log.exception("an event could not be recorded; answered 500 for Slack to retry")
            return web.Response(status=500)
        return web.Response()

    def _verified(self, request: web.BaseRequest, raw: bytes) -> Any:
        """The JSON ``raw`` holds if Slack signed it less than five minutes ago, else None
        (also for a timestamp that is no number, which bolt answers with a 500 and a
        logged error, and a body that is not JSON)."""
        headers = request.headers
        try:
            if self._verifier.is_valid(raw, headers.get("X-Slack-Request-Timestamp"),
                                       headers.get("X-Slack-Signature")):
                return json.loads(raw)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
            pass
        return None

    async def _bolt(self, request: web.BaseRequest, raw: bytes) -> web.Response:
        answer = await self._app.async_dispatch(AsyncBoltRequest(
            body=raw.decode(errors="replace"), query=request.query_string,
            headers=request.headers))  # type: ignore[arg-type]  # bolt reads any mapping
        return await to_aiohttp_response(answer)
