"""``planbot run``: the store, the core, the configured platforms and the scheduler on one
asyncio loop, until SIGINT or SIGTERM.

Shutdown order, so that nothing acknowledged is lost: stop the scheduler (no new jobs), stop
taking events (Slack: close the socket or HTTP server; Discord: close the gateway), let work in
flight end (the adapters wait for their handlers), then drain the core's database thread
(``Planbot.close``) and dispose of the engine. Both adapters acknowledge an event only after
the core stored it, so an event cut off by the shutdown is not acknowledged: Slack sends it
again, and the start-up reconciliation reads whatever was missed from the platform.

Endpoints can be pointed elsewhere than Discord and Slack (a local server, in tests) with
``DISCORD_API_BASE`` (e.g. ``http://127.0.0.1:PORT/api/v10``) with ``DISCORD_GATEWAY_URL``
(``ws://127.0.0.1:PORT/``), and ``SLACK_API_BASE`` (``http://127.0.0.1:PORT/api/``);
``SLACK_HOST`` is the interface the HTTP-mode server listens on (default 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass
from types import SimpleNamespace

from bot.clock import SystemClock
from bot.config import Settings
from bot.core import Planbot
from bot.home import open_store
from bot.i18n import translate
from bot.publish import DigestPublisher
from bot.scheduling import DigestScheduler, make_scheduler

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    """Where the platforms' APIs are; None means the real Discord and Slack."""

    discord_api: str | None = None
    discord_gateway: str | None = None
    slack_api: str | None = None
    slack_host: str = "127.0.0.1"
    """Interface of the HTTP-mode server (behind a reverse proxy by default; ``0.0.0.0`` to
    expose it directly)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoints:
        return cls(settings.discord_api_base, settings.discord_gateway_url,
                   settings.slack_api_base, settings.slack_host)


def no_voice_warning(record: logging.LogRecord) -> bool:
    """Log filter: discord.py warns at start-up that its voice libraries are missing;
    planbot has no voice, so the warning only misleads."""
    return "voice will NOT be supported" not in record.getMessage()


def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code (0 clean stop, 2 nothing configured,
    1 a platform failed)."""
    if not settings.discord_enabled and not settings.slack_enabled:
        print(translate("run.not_configured", settings.language), file=sys.stderr)
        return 2
    return asyncio.run(serve(settings, Endpoints.from_settings(settings)))


async def serve(settings: Settings, endpoints: Endpoints = Endpoints(),
                stop: asyncio.Event | None = None) -> int:
    """The service on the running loop until ``stop`` is set (by SIGINT/SIGTERM when not
    given) or a platform client dies. Returns the exit code."""
    stop = stop or _stop_on_signals()
    store = open_store(settings.database_url, settings.participant_secret, settings.data_dir,
                       SystemClock().now())
    engine = store.engine
    planbot = Planbot(store, settings, SystemClock())
    publisher = DigestPublisher(planbot)
    planbot.digest_publisher = publisher
    scheduler = DigestScheduler(publisher, make_scheduler(settings, engine))
    slack = discord = None
    failed = False
    try:
        if settings.slack_enabled:
            slack = await _start_slack(planbot, settings, endpoints)
            publisher.platforms["slack"] = slack.platform
        if settings.discord_enabled:
            discord = _start_discord(planbot, settings, endpoints, publisher)
        await scheduler.start()
        _log.info("planbot running: %s", ", ".join(sorted(
            p for p, on in (("discord", discord), ("slack", slack)) if on)))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopping] + ([discord.task] if discord else []),
                           return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if discord is not None and discord.task.done() and not stop.is_set():
            failed = True
            error = None if discord.task.cancelled() else discord.task.exception()
            _log.error("the Discord client stopped: %r", error)
    except Exception:  # noqa: BLE001 - a platform that cannot start: say why, stop cleanly
        _log.exception("planbot could not start")
        failed = True
    finally:
        _log.info("shutting down")
        scheduler.shutdown()
        if slack is not None:
            await slack.stop()
        if discord is not None:
            await discord.stop()
        planbot.close()
        engine.dispose()
        _log.info("stopped")
    return 1 if failed else 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _start_slack(planbot: Planbot, settings: Settings, endpoints: Endpoints):
    from integrations.slack import SlackBot
    from integrations.slack.client import SLACK_API

    bot = SlackBot.from_settings(planbot, settings, base_url=endpoints.slack_api or SLACK_API)
    url = await bot.start(settings.slack_mode, host=endpoints.slack_host, port=settings.slack_port)
    _log.info("Slack connected (%s mode%s)", settings.slack_mode, f", {url}" if url else "")
    return bot


class _Discord:
    """The Discord client task and the bot it runs (rebuilt once without the content intent
    if Discord refuses it, see ``integrations.discord.run_discord``)."""

    def __init__(self) -> None:
        self.bot = None
        self.task: asyncio.Task | None = None

    async def stop(self) -> None:
        """Let the handlers in flight (events, a reconciliation) end, within a bound, then
        close the gateway and the HTTP session. Discord has no acknowledgements: anything
        cut off is read back by the next start-up's reconciliation."""
        if self.bot is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.bot.wait_idle(), 10)
            await self.bot.close()
        if self.task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.task, 10)


def _start_discord(planbot: Planbot, settings: Settings, endpoints: Endpoints,
                   publisher: DigestPublisher) -> _Discord:
    from integrations.discord import PlanbotDiscord, run_discord

    logging.getLogger("discord.client").addFilter(no_voice_warning)
    holder = _Discord()

    def make_bot(*, message_content: bool):
        holder.bot = PlanbotDiscord(planbot, message_content=message_content,
                                    guild_ids=settings.discord_guild_ids)
        publisher.platforms["discord"] = holder.bot.platform
        return holder.bot

    async def run() -> None:
        with _pointed_at(endpoints):
            await run_discord(make_bot, settings.discord_token)

    holder.task = asyncio.ensure_future(run())
    return holder


def _pointed_at(endpoints: Endpoints) -> contextlib.AbstractContextManager:
    """discord.py pointed at ``DISCORD_API_BASE``/``DISCORD_GATEWAY_URL`` while the client
    runs, when both are set. discord.py has no per-client base URL, only process-wide class
    attributes (platform-facts.md); the sandbox's helper sets and restores them."""
    if not (endpoints.discord_api and endpoints.discord_gateway):
        return contextlib.nullcontext()
    from integrations.sandbox.discord import discord_py_pointed_at

    return discord_py_pointed_at(SimpleNamespace(api_base=endpoints.discord_api,
                                                 gateway_url=endpoints.discord_gateway))
