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

import logging
import time
from collections.abc import Callable
from typing import Self

from integrations.sandbox.slack.commands import SlackCommands, _Command
from integrations.sandbox.slack.delivery import AckResult, Delivery
from integrations.sandbox.slack.feed import EventFeed
from integrations.sandbox.slack.http import HttpFront, RecordedCall
from integrations.sandbox.slack.interactive import Interactive
from integrations.sandbox.slack.people import SlackPeople
from integrations.sandbox.slack.webapi import (
    WebApi,
)
from integrations.sandbox.slack.workspace import (
    Message,
    User,
    Workspace,
)

_log = logging.getLogger(__name__)

GRANTED_SCOPES = ("commands", "chat:write", "reactions:write", "reactions:read",
                  "channels:history", "groups:history", "channels:read", "groups:read",
                  "users:read", "usergroups:read", "files:write")
"""The bot scopes of integrations/slack/manifest.yml, granted by default."""


class LocalSlack(SlackPeople, SlackCommands):
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
                          emit=lambda event: self.feed.send_later(event), socket_url=lambda: self.http.new_socket_url(),
                          upload_url=lambda fid: f"{self.url}/upload/{fid}")
        self.scopes: set[str] = set(GRANTED_SCOPES)
        """The bot token's scopes, sent back in ``x-oauth-scopes`` as Slack does; a test
        removes one to play an app installed without it."""
        self.interactive = Interactive(self)
        """Buttons and modals: ``interactive.user_clicks``, ``interactive.user_submits_view``."""
        self.http = HttpFront(
            delivery=self.delivery, app_id=app_id, uploads=self.api.uploads,
            handlers=lambda: {**self.api.methods(), **self.interactive.methods()},
            tokens=lambda m: self.app_token if m == "apps.connections.open" else self.bot_token,
            scopes=lambda: self.scopes, on_response=self._answer)
        self.faults = self.http.faults
        self.requests: list[RecordedCall] = self.http.requests
        self.feed = EventFeed(self.delivery, team_id=team_id, app_id=app_id,
                              bot_user_id=bot_user_id, clock=clock)
        self.events: list[dict] = self.feed.events
        self._commands: dict[str, _Command] = {}
        self.people: dict[str, User] = {}
        self.channel_id = ""
        self.facilitator_group_id = ""

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, port: int = 0) -> Self:
        """Listen on 127.0.0.1 on ``port`` (0: a free port); returns ``self``."""
        await self.http.start(port)
        return self

    async def stop(self) -> None:
        """Stop delivering, close sockets and the listener."""
        await self.feed.stop()
        await self.delivery.close()
        await self.http.stop()

    @property
    def port(self) -> int:
        """The port listened on (0 before :meth:`start`)."""
        return self.http.port

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

    def add_user(self, user_id: str, name: str, *, locale: str = "fr-FR", is_bot: bool = False,
                 bot_id: str | None = None, team_id: str | None = None) -> None:
        """Add a member (or another bot: ``is_bot=True`` with a ``bot_id``), of ``team_id``."""
        self.workspace.add_user(User(user_id, name, locale=locale, is_bot=is_bot, bot_id=bot_id,
                                     team_id=team_id))

    def add_channel(self, channel_id: str, name: str, *, bot_member: bool = True,
                    team_id: str | None = None) -> None:
        """Add a public channel, in workspace ``team_id`` of the organisation (default the
        app's own); unless ``bot_member``, the app must be invited before it can post there
        (``chat.postMessage`` answers ``not_in_channel``)."""
        self.workspace.add_channel(channel_id, name, team_id)
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
        self.faults.fail_next(method, error, times=times, nth=nth)

    def rate_limit(self, method: str, *, retry_after: int = 0, times: int = 1, nth: int = 1) -> None:
        """Answer ``times`` calls of ``method``, from the ``nth`` one on (a 429 on the 9th
        post: ``nth=9``), with 429 and ``Retry-After``."""
        self.faults.rate_limit(method, retry_after=retry_after, times=times, nth=nth)

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
        await self.feed.settle(timeout)

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
        return self.feed.body(event, event_id=event_id)

    async def send_event(self, event: dict) -> AckResult:
        """Deliver ``event`` with Slack's retries; the body sent is kept in :attr:`events`.

        With spaced retries, returns after the first attempt (its result); the retries go on
        in the background as the clock moves (:meth:`clock_moved`; :meth:`settle` waits).
        """
        return await self.feed.send(event)

    async def clock_moved(self) -> None:
        """The test moved :attr:`clock`: retries now due are delivered."""
        await self.delivery.clock_moved()

    async def redeliver(self, body: dict, retry_num: int, reason: str = "http_timeout") -> AckResult:
        """Send one retry of an earlier body (``X-Slack-Retry-Num: retry_num``), freshly signed."""
        return await self.delivery.send_once(body, retry_num=retry_num, retry_reason=reason)

