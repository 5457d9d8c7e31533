"""One place where planbot's objects are made and joined: store, core and its parts, digest
publisher, reconciler, scheduler and platforms.

Every object gets what it needs through its constructor; nothing is completed afterwards.
The one registry that changes while running is the core's ``platforms`` (name ->
``ChatPlatform``): an adapter adds itself when it connects (:meth:`bot.core.Core.attach`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bot.apply import EventApplier
from bot.clock import Clock
from bot.commands import Commands
from bot.config import Settings
from bot.core import Core
from bot.home import open_store
from bot.identity import Pseudonymizer
from bot.intake import DatabaseThread, Intake
from bot.invitations import Invitations
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
    intake = Intake(database, applier, after_applied=relay.follow)
    observer = observer or Unobserved()
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

    async def connect(self, platforms: Collection[str] | None = None) -> set[str]:
        """Start and reconcile the adapters of ``platforms`` that are configured (all of
        them when ``None``); returns the names of those connected. Waits for each first
        reconciliation (at most 60 s)."""
        for adapter in self.service.adapters:
            if platforms is None or adapter.name in platforms:
                self.started.append(adapter)
                await adapter.start()
                await adapter.wait_until_reconciled(1, timeout=60)
        return {adapter.name for adapter in self.started}


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
