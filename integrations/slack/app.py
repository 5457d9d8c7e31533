"""planbot on Slack: a slack-bolt ``AsyncApp`` that translates and hands over to the core.

:class:`SlackBot` gets the core (:class:`bot.core.Core`) and a Web API client through its
constructor and registers:

* ``/planbot <action> [options]`` (:mod:`integrations.slack.commands`), run by
  :class:`integrations.slack.slash.SlashCommand`: acknowledged at once with an empty ack,
  then a lazy listener runs the command in the core and answers through ``respond``.
* ``reaction_added``, ``reaction_removed`` and ``message`` (:mod:`integrations.slack.events`:
  recorded in the core's inbox, then acknowledged; in HTTP mode handled in front of bolt's
  dispatch).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.core import Core
from bot.reconcile import ReconcileReport
from integrations.slack.checks import verify_bot_token
from integrations.slack.client import SLACK_API, make_web_client
from integrations.slack.directory import Directory
from integrations.slack.events import EventsEndpoint, SlackEvents
from integrations.slack.moderation import MODERATE_ACTION, ModerationModals
from integrations.slack.my_stances import CHANGE_ACTION, PAGE_ACTION, StanceModals
from integrations.slack.platform import SlackPlatform
from integrations.slack.proposals import PROPOSE_CALLBACK, ProposalModals
from integrations.slack.slash import SlashCommand
from integrations.slack.socket import SocketConnection
from integrations.slack.translate import PLATFORM
from integrations.slack.voting import STANCE_ACTION, VOTE_ACTION, VoteModals

_log = logging.getLogger(__name__)
_F = TypeVar("_F", bound="asyncio.Future[Any]")


class _Background:
    """Work nobody awaits (reconciliations, late store writes, commands under way), kept
    until it ends, its failures logged, and drained on stop."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        return self.track(asyncio.ensure_future(work))

    def track(self, task: _F) -> _F:
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("background Slack work failed", exc_info=task.exception())


def _check_mode(mode: str, *, app_token: str | None, signing_secret: str | None) -> None:
    """Raise ``ValueError`` for an unknown mode or a mode without its token or secret."""
    if mode not in ("socket", "http"):
        raise ValueError(f"unknown Slack mode {mode!r}: socket or http")
    if mode == "socket" and not app_token:
        raise ValueError("Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
    if mode == "http" and not signing_secret:
        raise ValueError("HTTP mode needs the signing secret (SLACK_SIGNING_SECRET)")


class SlackBot:
    """The Slack side of planbot, in Socket Mode (default) or HTTP mode; its lifecycle is
    :class:`bot.platform.Adapter`'s.

    ``client`` should come from :func:`integrations.slack.client.make_web_client`.
    ``default_language`` answers users whose locale Slack does not give. ``handle_budget``
    (seconds) bounds how long an event's store write may delay its ack. ``mode``, ``host``
    and ``port`` are :meth:`start`'s defaults (``SLACK_MODE``, ``SLACK_HOST``, ``SLACK_PORT``);
    ``url`` is then the HTTP-mode request URL to give Slack.
    """

    name = PLATFORM

    def __init__(self, core: Core, client: AsyncWebClient, *, app_token: str | None = None,
                 signing_secret: str | None = None, command: str = "/planbot",
                 default_language: str = "fr", handle_budget: float = 2.0,
                 clock: Clock | None = None, mode: str = "socket", host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.core = core
        self.client = client
        self.directory = Directory(client)
        self._platform = SlackPlatform(client, self.directory)
        self.app_token = app_token
        self._signing_secret = signing_secret
        self.default_language = default_language
        self.clock = clock or SystemClock()
        # Bolt drops events it attributes to the app itself, and a message_deleted (or a
        # tombstone) is attributed to the deleted message's author: a moderator deleting a
        # section would go unseen. The translators drop the app's own messages and reactions
        # instead (``bot_user_id``, ``bot_id``).
        self.app = AsyncApp(client=client, signing_secret=signing_secret or "",
                            process_before_response=True, ignoring_self_events_enabled=False)
        self._socket: SocketConnection | None = None
        self._http: web.BaseRunner | None = None
        self._background = _Background()
        track = self._background.track
        self.events = SlackEvents(core, self._platform, self.directory,
                                  handle_budget=handle_budget, track=track)
        self.events.listen(self.app)
        self.votes = VoteModals(core, client, self.directory, default_language, track=track)
        self.proposals = ProposalModals(core, client, self.directory, default_language, track=track)
        self.mine = StanceModals(core, client, self.directory, default_language, track=track)
        self.moderation = ModerationModals(core, client, self.directory, self.clock, track=track)
        self.slash = SlashCommand(core, self._platform, self.directory, clock=self.clock,
                                  default_language=default_language, track=track,
                                  votes=self.votes, mine=self.mine, moderation=self.moderation,
                                  proposals=self.proposals)
        self.app.command(command)(ack=self.slash.ack, lazy=[self.slash.run])
        self.app.action(VOTE_ACTION)(ack=self.votes.ack, lazy=[self.votes.open])
        self.app.action(STANCE_ACTION)(ack=self.votes.ack, lazy=[self.votes.vote])
        for action in (CHANGE_ACTION, PAGE_ACTION):
            self.app.action(action)(ack=self.mine.ack, lazy=[self.mine.click])
        self.app.action(MODERATE_ACTION)(ack=self.moderation.ack, lazy=[self.moderation.decide])
        self.app.view(PROPOSE_CALLBACK)(self.proposals.submit)
        self._reconcile_lock = asyncio.Lock()
        self._reconciled = asyncio.Condition()
        self.reconciliations = 0
        self._stopped = asyncio.Event()
        self.mode, self.host, self.port = mode, host, port
        self.url: str | None = None

    @classmethod
    def from_settings(cls, core: Core, settings: Settings) -> SlackBot:
        """A bot from ``settings`` (``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN``,
        ``SLACK_SIGNING_SECRET``, ``SLACK_MODE``/``HOST``/``PORT``, the default language);
        ``SLACK_API_BASE`` points elsewhere than Slack (a local Slack). Raises ``ValueError``
        without a bot token."""
        if not settings.slack_bot_token:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        client = make_web_client(settings.slack_bot_token,
                                 base_url=settings.slack_api_base or SLACK_API)
        return cls(core, client, app_token=settings.slack_app_token,
                   signing_secret=settings.slack_signing_secret,
                   default_language=settings.language, clock=core.clock,
                   mode=settings.slack_mode, host=settings.slack_host, port=settings.slack_port)

    # -- running ------------------------------------------------------------------------

    @property
    def platform(self) -> SlackPlatform:
        return self._platform

    @property
    def connected(self) -> bool:
        """Socket Mode: the websocket is open; HTTP mode: the server serves."""
        if self._socket is not None:
            return self._socket.connected and not self._stopped.is_set()
        return self._http is not None and not self._stopped.is_set()

    async def start(self, mode: str | None = None, *, host: str | None = None,
                    port: int | None = None) -> None:
        """Start in ``mode`` (``socket`` or ``http``, as ``SLACK_MODE``; default the
        constructor's); in HTTP mode :attr:`url` is then the request URL served on
        ``host:port``. Raises ``ValueError`` for a mode without its token or secret,
        ``bot.errors.SetupError`` when Slack refuses a token (:mod:`integrations.slack.checks`)."""
        mode = mode or self.mode
        _check_mode(mode, app_token=self.app_token, signing_secret=self._signing_secret)
        self._stopped.clear()  # a supervised restart after a stop
        await verify_bot_token(self.client)
        self.core.attach(self.platform)
        self._background.spawn(self.directory.learn_bots())
        if mode == "socket":
            await self.start_socket_mode()
        else:
            self.url = await self.start_http(host or self.host,
                                             self.port if port is None else port)
        _log.info("Slack connected (%s mode%s)", mode, f", {self.url}" if self.url else "")

    async def start_socket_mode(self) -> None:
        """Connect over Socket Mode with the app-level token (``xapp-``, checked by
        :meth:`start`); reconcile on every ``hello`` (each new connection), since events sent
        while away are lost (:mod:`integrations.slack.socket`)."""
        if self.app_token is None:
            raise ValueError("Socket Mode needs the app-level token (SLACK_APP_TOKEN)")
        self._socket = SocketConnection(self.app, self.app_token, self.client,
                                        lambda: self._background.spawn(self.reconcile()))
        await self._socket.open()

    async def start_http(self, host: str = "127.0.0.1", port: int = 0,
                         path: str = "/slack/events") -> str:
        """Serve the Events API and the slash command on ``host:port`` (0 = any free port);
        returns the request URL to give Slack. Reconciles once started."""
        endpoint = EventsEndpoint(self.app, self._signing_secret or "", self.events)
        self._http = web.ServerRunner(endpoint.server(path))
        await self._http.setup()
        site = web.TCPSite(self._http, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._background.spawn(self.reconcile())
        return f"http://{host}:{bound}{path}"

    async def stop(self) -> None:
        """Disconnect, stop serving, and wait for background work (bounded by 5 s). Events
        recorded but not applied yet stay in the inbox for whichever process applies next."""
        if self._socket is not None:
            await self._socket.close()
        if self._http is not None:
            await self._http.cleanup()
        self._stopped.set()
        await asyncio.wait_for(self._background.drain(), 5.0)

    async def wait_until_idle(self, timeout: float = 5.0) -> None:
        """Wait until background work (reconciliations, late store writes) is done and every
        event captured is applied."""
        async def _settle() -> None:
            await self._background.drain()
            await self.core.settle()
        await asyncio.wait_for(_settle(), timeout)

    async def reconcile(self) -> ReconcileReport:
        """Apply what Slack holds and the store missed (one pass at a time)."""
        async with self._reconcile_lock:
            report = await self.core.reconcile(self.platform)
        async with self._reconciled:
            self.reconciliations += 1
            self._reconciled.notify_all()
        return report

    async def wait_until_closed(self) -> BaseException | None:
        """After :meth:`stop` (None), or when Slack refused a Socket Mode reconnection (the
        error; :mod:`integrations.slack.socket`); HTTP mode serves till stopped."""
        if self._socket is None:
            await self._stopped.wait()
            return None
        return await self._socket.wait_ended(self._stopped)

    async def wait_until_reconciled(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``count`` reconciliation passes have finished since start."""
        async def _wait() -> None:
            async with self._reconciled:
                await self._reconciled.wait_for(lambda: self.reconciliations >= count)
        await asyncio.wait_for(_wait(), timeout)
