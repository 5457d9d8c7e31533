"""The Discord side's lifecycle (:class:`bot.platform.Adapter`): the discord.py client run as
a task, pointed at the endpoints the settings name, stopped without losing work in flight."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.core import Core
from bot.platform import ChatPlatform
from integrations.discord.client import PlanbotDiscord, run_discord
from integrations.discord.endpoints import use_endpoints

_log = logging.getLogger(__name__)
STOP_WAIT = 10.0
"""Seconds a stop waits for handlers in flight, then for the client task."""


def no_voice_warning(record: logging.LogRecord) -> bool:
    """Log filter: discord.py warns at start-up that its voice libraries are missing;
    planbot has no voice, so the warning only misleads."""
    return "voice will NOT be supported" not in record.getMessage()


class DiscordAdapter:
    """Runs :class:`PlanbotDiscord` for ``core`` with ``token`` until stopped.

    ``api_base`` and ``gateway_url`` (``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``: a local
    Discord) replace discord.com while the client runs, when both are given; discord.py only
    has process-wide endpoints (docs/platform-facts.md), so they are restored on stop. The
    bot is rebuilt once without the message-content intent if Discord refuses it
    (:func:`integrations.discord.client.run_discord`); each bot built is attached to the core.
    ``bot_options`` go to :class:`PlanbotDiscord` (``guild_ids``, ``reidentify_delay``...).
    """

    name = "discord"

    def __init__(self, core: Core, token: str, *, api_base: str | None = None,
                 gateway_url: str | None = None, **bot_options: Any) -> None:
        self.core = core
        self._token = token
        self._endpoints = (api_base, gateway_url) if api_base and gateway_url else None
        self._bot_options = bot_options
        self.bot: PlanbotDiscord | None = None
        self.task: asyncio.Task[None] | None = None
        self._restore: Callable[[], None] | None = None

    @classmethod
    def from_settings(cls, core: Core, settings: Settings) -> DiscordAdapter:
        """The adapter ``DISCORD_*`` settings describe (token, guilds, endpoints)."""
        return cls(core, settings.discord_token or "", api_base=settings.discord_api_base,
                   gateway_url=settings.discord_gateway_url,
                   guild_ids=settings.discord_guild_ids)

    @property
    def platform(self) -> ChatPlatform:
        if self.bot is None:
            raise RuntimeError("the Discord adapter is not started")
        return self.bot.platform

    @property
    def connected(self) -> bool:
        """The gateway session is ready and the client not closed."""
        return self.bot is not None and self.bot.is_ready() and not self.bot.is_closed()

    def _make_bot(self, *, message_content: bool) -> PlanbotDiscord:
        self.bot = PlanbotDiscord(self.core, message_content=message_content,
                                  **self._bot_options)
        self.core.attach(self.bot.platform)
        return self.bot

    async def start(self) -> None:
        if self._endpoints is not None:
            self._restore = use_endpoints(*self._endpoints)
        # Built now so that ``platform`` is there at once; a rebuild builds afresh.
        built = [self._make_bot(message_content=True)]

        def make_bot(*, message_content: bool) -> PlanbotDiscord:
            return built.pop() if built else self._make_bot(message_content=message_content)

        self.task = asyncio.ensure_future(run_discord(make_bot, self._token))

    async def stop(self) -> None:
        """Let the handlers in flight (events, a reconciliation) end, within a bound, then
        close the gateway and the HTTP session. Discord has no acknowledgements: anything
        cut off is read back by the next start-up's reconciliation."""
        try:
            if self.bot is not None:
                with contextlib.suppress(TimeoutError):
                    await self.wait_until_idle(STOP_WAIT)
                await self.bot.close()
            if self.task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(self.task, STOP_WAIT)
        finally:
            if self._restore is not None:
                self._restore()
                self._restore = None

    async def wait_until_idle(self, timeout: float = STOP_WAIT) -> None:
        if self.bot is not None:
            await asyncio.wait_for(self.bot.wait_until_idle(), timeout)

    async def wait_until_reconciled(self, count: int = 1, timeout: float = STOP_WAIT) -> None:
        """Also raises ``RuntimeError`` (with the cause) if the client stops first."""
        if self.bot is None or self.task is None:
            raise RuntimeError("the Discord adapter is not started")
        ready = asyncio.ensure_future(self.bot.wait_until_reconciled(count))
        await asyncio.wait({self.task, ready}, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            return
        ready.cancel()
        if self.task.done():
            raise RuntimeError(f"the Discord client stopped: {self._failure()!r}")
        raise TimeoutError("the Discord client did not reconcile in time")

    async def wait_until_closed(self) -> BaseException | None:
        if self.task is None:
            raise RuntimeError("the Discord adapter is not started")
        # ``wait`` leaves the task alone, and lets this waiter's own cancellation through.
        await asyncio.wait([self.task])
        return self._failure()

    def _failure(self) -> BaseException | None:
        if self.task is None or not self.task.done() or self.task.cancelled():
            return None
        return self.task.exception()
