"""One place where planbot's objects are made and joined: store, core and its parts, digest
publisher, reconciler, scheduler and platforms.

Every object gets what it needs through its constructor; nothing is completed afterwards.
The one registry that changes while running is the core's ``platforms`` (name ->
``ChatPlatform``): an adapter adds itself when it connects (:meth:`bot.core.Core.attach`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bot.apply import EventApplier
from bot.clock import Clock
from bot.commands import Commands
from bot.config import Settings
from bot.core import Core
from bot.events import InboundEvent
from bot.home import open_store
from bot.identity import Pseudonymizer
from bot.inbox import InboxWorker
from bot.intake import DatabaseThread, Intake
from bot.invitations import Invitations
from bot.journal import Journal
from bot.moderation import Moderation
from bot.my_stances import MyStances
from bot.observe import Observer, Unobserved
from bot.opening import SectionPoster
from bot.platform import Adapter, ChatPlatform
from bot.privacy import Privacy
from bot.proposals import Proposals
from bot.publish import DigestPublisher
from bot.reconcile import Reconciler
from bot.relay import Relay
from bot.rounds import Rounds
from bot.scheduling import DigestScheduler, make_scheduler
from bot.voting import Voting
from storage.store import Store

_log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 60.0
"""Seconds a one-shot command gives each platform to connect and reconcile before it reports
the platform as not reached: a host that never answers, or a gateway its library retries with
backoff, must not hold an erasure's report or a round's closing for ever."""


def build_core(store: Store, settings: Settings, clock: Clock,
               observer: Observer | None = None) -> Core:
    """The core on ``store``: database thread, intake, relay, rounds, commands, digest
    publisher and reconciler, sharing one registry of connected platforms (empty)."""
    platforms: dict[str, ChatPlatform] = {}
    pseudonyms = Pseudonymizer(settings.participant_secret)
    database = DatabaseThread()
    db = database.run
    applier = EventApplier(store, settings.stance_map, pseudonyms, clock)
    relay = Relay(store, clock, db, platforms,
                  copy_limit=(settings.copy_limit, settings.copy_window),
                  seeds=settings.stance_map.seeds)
    observer = observer or Unobserved()
    seen = observer

    async def after_applied(event: InboundEvent) -> None:
        seen.event_applied(event.platform, (clock.now() - event.occurred_at).total_seconds())
        await relay.follow(event)

    async def after_gap() -> None:
        # Events may have been missed while the store was down and the journal full.
        for platform in list(platforms.values()):
            await reconciler.run(platform)

    journal = Journal(settings.data_dir, settings.journal_max_mb * 1024 * 1024)
    worker = InboxWorker(store, applier, clock, journal, keep=settings.inbox_keep)
    intake = Intake(database, worker, clock, after_applied=after_applied, after_gap=after_gap)
    publisher = DigestPublisher(store, settings, clock, db, platforms, observer)
    poster = SectionPoster(store, settings, clock, db)
    rounds = Rounds(store, settings, clock, db, relay, applier, poster,
                    Invitations(store, settings, clock, db))
    privacy = Privacy(store, settings, clock, db, pseudonyms, applier, platforms)
    commands = Commands(store, settings, clock, db, rounds, publisher, privacy)
    reconciler = Reconciler(store, clock, db, pseudonyms, intake.handle, relay.copy_replies,
                            platforms, poster)
    voting = Voting(store, clock, db, pseudonyms, intake.handle)
    return Core(store=store, settings=settings, clock=clock, pseudonyms=pseudonyms,
                database=database, intake=intake, relay=relay, rounds=rounds,
                commands=commands, digest_publisher=publisher, reconciler=reconciler,
                voting=voting,
                proposals=Proposals(store, settings, db, voting, intake.handle),
                my_stances=MyStances(store, db, pseudonyms, voting, intake.handle),
                platforms=platforms, privacy=privacy, observer=observer,
                moderation=Moderation(store, settings, clock, db, pseudonyms, relay, platforms,
                                      commands.is_facilitator, commands.named_round))


@dataclass(frozen=True)
class Service:
    """Everything ``planbot run`` runs: the engine (disposed last), the core, the scheduler
    and the configured platforms' adapters (not started)."""

    engine: Engine
    core: Core
    scheduler: DigestScheduler
    adapters: list[Adapter]


@dataclass
class OneShot:
    """A service for one command (``planbot round close``, ``planbot privacy erase``): its
    adapters are started on demand and everything is stopped and closed when it ends."""

    service: Service
    started: list[Adapter] = field(default_factory=list)

    @property
    def core(self) -> Core:
        return self.service.core

    async def connect(self, platforms: Collection[str] | None = None, *,
                      timeout: float = CONNECT_TIMEOUT) -> dict[str, BaseException | None]:
        """Start and reconcile the adapters of ``platforms`` that are configured (all of
        them when ``None``), each within ``timeout`` seconds. Returns, per configured
        platform tried, None once connected or the error that kept it away
        (``TimeoutError`` past the bound, ``bot.errors.SetupError`` for a token it refuses,
        a connection error: ``bot.reachability.unreachable``); a platform that failed is
        stopped and taken out of the core's registry, so nothing is sent through it."""
        tried: dict[str, BaseException | None] = {}
        for adapter in self.service.adapters:
            if platforms is None or adapter.name in platforms:
                tried[adapter.name] = await self._connect(adapter, timeout)
        return tried

    async def _connect(self, adapter: Adapter, timeout: float) -> BaseException | None:
        async def up() -> None:
            await adapter.start()
            await adapter.wait_until_reconciled(1, timeout=timeout)

        try:
            await asyncio.wait_for(up(), timeout)
        except Exception as err:  # noqa: BLE001 - whatever kept it away is reported, not raised
            _log.debug("%s could not be connected", adapter.name, exc_info=True)
            self.core.platforms.pop(adapter.name, None)
            try:
                await adapter.stop()
            except Exception:  # noqa: BLE001 - half started: what is left goes with the process
                _log.debug("stopping %s after a failed start failed", adapter.name,
                           exc_info=True)
            return err
        self.started.append(adapter)
        return None


@asynccontextmanager
async def one_shot(settings: Settings, clock: Clock, name: str) -> AsyncIterator[OneShot]:
    """:func:`build_service` for one command; on exit, whatever happened, the adapters it
    connected are stopped, then the scheduler, the core and the engine closed."""
    shot = OneShot(build_service(settings, clock, name=name))
    try:
        yield shot
    finally:
        for adapter in shot.started:
            await adapter.stop()
        shot.service.scheduler.shutdown()
        shot.service.core.close()
        shot.service.engine.dispose()


def build_service(settings: Settings, clock: Clock, *, name: str = "planbot",
                  observer: Observer | None = None) -> Service:
    """The service ``settings`` describe: the store on ``DATABASE_URL`` (schema upgraded,
    checked against the participant secret: ``bot.home.open_store``, which raises
    ``SetupError``), the core, the scheduler (jobs rebuilt from the
    store, registered as ``name``) and an adapter per configured platform, endpoints from the
    settings. Raises ``ValueError`` for a platform whose settings cannot work (no token)."""
    store = open_store(settings.database_url, settings.participant_secret, settings.data_dir,
                       clock.now())
    engine = store.engine
    core = build_core(store, settings, clock, observer)
    scheduler = DigestScheduler(core, make_scheduler(settings), name)
    return Service(engine, core, scheduler, build_adapters(core, settings))


def build_adapters(core: Core, settings: Settings) -> list[Adapter]:
    """One adapter per configured platform, in start order: Slack, then Discord. Raises
    ``ValueError`` for a platform whose settings cannot work."""
    adapters: list[Adapter] = []
    if settings.slack_enabled:
        from integrations.slack import SlackBot

        adapters.append(SlackBot.from_settings(core, settings))
    if settings.discord_enabled:
        from integrations.discord import DiscordAdapter

        adapters.append(DiscordAdapter.from_settings(core, settings))
    return adapters
