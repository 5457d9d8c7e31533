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


class DiscordAdapter:
    """Runs :class:`PlanbotDiscord` for ``core`` with ``token`` until stopped.

    ``api_base`` and ``gateway_url`` (``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``: a local
    Discord) replace discord.com while the client runs, when both are given; discord.py only
    has process-wide endpoints (docs/platform-facts.md), so they are restored on stop. The
    bot is rebuilt once without the message-content intent if Discord refuses it
    (:func:`integrations.discord.client.run_discord`); each bot built is attached to the core.
    ``shards`` (``PLANBOT_DISCORD_SHARDS``: shard ids and their count) runs one gateway
    session per shard id, each a discord.py client with ``shard_id``/``shard_count``, so
    that several processes split the guilds (Discord sends a guild's events to shard
    ``(guild_id >> 22) % count``: docs events/gateway#sharding); each reconciles on its own
    READY. ``bot_options`` go to :class:`PlanbotDiscord` (``guild_ids``,
    ``reidentify_delay``...).
    """

    name = "discord"

    def __init__(self, core: Core, token: str, *, api_base: str | None = None,
                 gateway_url: str | None = None,
                 shards: tuple[tuple[int, ...], int] | None = None,
                 **bot_options: Any) -> None:
        self.core = core
        self._token = token
        self._endpoints = (api_base, gateway_url) if api_base and gateway_url else None
        self._shards = shards
        self._bot_options = bot_options
        self.bots: list[PlanbotDiscord] = []
        """The running clients, one per shard (one when unsharded)."""
        self.tasks: list[asyncio.Task[None]] = []
        self._restore: Callable[[], None] | None = None

    @classmethod
    def from_settings(cls, core: Core, settings: Settings) -> DiscordAdapter:
        """The adapter ``DISCORD_*`` settings describe (token, guilds, endpoints, shards)."""
        return cls(core, settings.discord_token or "", api_base=settings.discord_api_base,
                   gateway_url=settings.discord_gateway_url,
                   guild_ids=settings.discord_guild_ids, shards=settings.discord_shards)

    @property
    def bot(self) -> PlanbotDiscord | None:
        """The first shard's client (the one the core posts through); None before start."""
        return self.bots[0] if self.bots else None

    @property
    def platform(self) -> ChatPlatform:
        if self.bot is None:
            raise RuntimeError("the Discord adapter is not started")
        return self.bot.platform

    @property
    def connected(self) -> bool:
        """Every shard's gateway session is ready and its client not closed."""
        return bool(self.bots) and all(b.is_ready() and not b.is_closed() for b in self.bots)

    def _make_bot(self, slot: int, shard: dict[str, Any], *,
                  message_content: bool) -> PlanbotDiscord:
        bot = PlanbotDiscord(self.core, message_content=message_content, **shard,
                             **self._bot_options)
        if slot < len(self.bots):
            self.bots[slot] = bot
        else:
            self.bots.append(bot)
        if slot == 0:  # any client posts anywhere (REST): the first one is attached
            self.core.attach(bot.platform)
        return bot

    async def start(self) -> None:
        if self._endpoints is not None:
            self._restore = use_endpoints(*self._endpoints)
        ids, count = self._shards or ((), 0)
        shards: list[dict[str, Any]] = [
            {"shard_id": i, "shard_count": count} for i in ids] or [{}]
        self.bots, self.tasks = [], []
        for slot, shard in enumerate(shards):
            # Built now so that ``platform`` is there at once; a rebuild builds afresh.
            built = [self._make_bot(slot, shard, message_content=True)]

            def make_bot(*, message_content: bool, slot: int = slot, shard: dict[str, Any] = shard,
                         built: list[PlanbotDiscord] = built) -> PlanbotDiscord:
                return built.pop() if built else self._make_bot(
                    slot, shard, message_content=message_content)

            self.tasks.append(asyncio.ensure_future(run_discord(make_bot, self._token)))

    async def stop(self) -> None:
        """Let the handlers in flight (events, a reconciliation) end, within a bound, then
        close the gateway and the HTTP session. Discord has no acknowledgements: anything
        cut off is read back by the next start-up's reconciliation."""
        try:
            for bot in self.bots:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.wait_until_idle(), STOP_WAIT)
                await bot.close()
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=STOP_WAIT)
        finally:
            if self._restore is not None:
                self._restore()
                self._restore = None

    async def wait_until_idle(self, timeout: float = STOP_WAIT) -> None:
        await asyncio.wait_for(asyncio.gather(*(b.wait_until_idle() for b in self.bots)),
                               timeout)

    async def wait_until_reconciled(self, count: int = 1, timeout: float = STOP_WAIT) -> None:
        """Every shard's; also raises ``RuntimeError`` (with the cause) if a client stops
        first."""
        if not self.bots or not self.tasks:
            raise RuntimeError("the Discord adapter is not started")
        ready = asyncio.ensure_future(asyncio.gather(
            *(b.wait_until_reconciled(count) for b in self.bots)))
        waiting: set[asyncio.Future[Any]] = {*self.tasks, ready}
        await asyncio.wait(waiting, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            return
        ready.cancel()
        # The cancelled gather ends with a CancelledError of its own: read it, or asyncio
        # logs "exception was never retrieved" when the future is collected.
        await asyncio.wait({ready})
        if not ready.cancelled():
            ready.exception()
        if any(t.done() for t in self.tasks):
            failure = self._failure()
            raise RuntimeError(f"the Discord client stopped: {failure!r}") from failure
        raise TimeoutError("the Discord client did not reconcile in time")

    async def wait_until_closed(self) -> BaseException | None:
        """When the first shard's client ends by itself, with its error."""
        if not self.tasks:
            raise RuntimeError("the Discord adapter is not started")
        # ``wait`` leaves the tasks alone, and lets this waiter's own cancellation through.
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
        return self._failure()

    def _failure(self) -> BaseException | None:
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None
