"""The core as the adapters see it: events in, commands in, reconciliation on (re)connect.

:class:`Core` is a thin front over the parts that do the work, each built once by
:func:`bot.service.build.build_core` and handed over through the constructor:

* :class:`bot.intake.Intake`: neutral events applied to the store exactly once, on the
  database thread (:class:`bot.intake.DatabaseThread`);
* :class:`bot.relay.Relay`: copies of each reply in the round's other channels;
* :class:`bot.rounds.Rounds`: open, join and close rounds;
* :class:`bot.commands.Commands`: the facilitator commands, one table for both platforms;
* :class:`bot.publish.DigestPublisher` and :class:`bot.reconcile.Reconciler`;
* :class:`bot.voting.Voting`: private votes through the Vote button and ``/vote``;
* :class:`bot.proposals.Proposals`: anonymous proposals through ``/propose``;
* :class:`bot.my_stances.MyStances`: ``/my-stances``, a participant's own stances;
* :class:`bot.moderation.Moderation`: ``/moderate``, facilitators' Accept / Reject.

It owns no connection: store, settings and clock come in from the wiring (discord.py
``examples/advanced_startup.py`` style).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.commands import CommandReply, Commands
from bot.config import Settings
from bot.events import CommandInvoked, InboundEvent
from bot.identity import Pseudonymizer
from bot.intake import DatabaseThread, Intake, RunInDb
from bot.moderation import Moderation
from bot.my_stances import MyStances
from bot.observe import Observer, Unobserved
from bot.platform import ChatPlatform
from bot.privacy import Privacy
from bot.proposals import Proposals
from bot.reconcile import Reconciler, ReconcileReport
from bot.relay import Relay
from bot.rounds import Rounds
from bot.voting import Voting
from storage.store import Store

COMMAND_CATCH_UP = 1.0
"""Seconds a command waits for the events captured before it to be applied."""

if TYPE_CHECKING:
    from bot.publish import DigestPublisher


@dataclass(frozen=True)
class Core:
    """The platform-neutral core. Async methods are safe to call from the adapters' loop.

    ``platforms`` is the registry of connected adapters (name -> ``ChatPlatform``) the relay,
    the publisher and the reconciler share; an adapter registers itself with :meth:`attach`
    when it connects.
    """

    store: Store
    settings: Settings
    clock: Clock
    pseudonyms: Pseudonymizer
    database: DatabaseThread
    intake: Intake
    relay: Relay
    rounds: Rounds
    commands: Commands
    digest_publisher: DigestPublisher
    reconciler: Reconciler
    voting: Voting
    proposals: Proposals
    my_stances: MyStances
    platforms: dict[str, ChatPlatform]
    privacy: Privacy
    """A participant's own data: export, erasure, the retention purge (``bot.privacy``)."""
    moderation: Moderation
    """Facilitators' moderation of statements (``bot.moderation``)."""
    observer: Observer = field(default_factory=Unobserved)
    """Told of events received and applied and of reconciliations (the metrics)."""

    @property
    def db(self) -> RunInDb:
        """``await core.db(fn, *args)``: a store call on the database thread."""
        return self.database.run

    def attach(self, platform: ChatPlatform) -> None:
        """Register a connected adapter (replacing an earlier one of the same name)."""
        self.platforms[platform.name] = platform

    def capture(self, event: InboundEvent) -> Awaitable[int | None]:
        """Record a neutral event durably (:meth:`bot.intake.Intake.capture`); it is applied
        exactly once soon after. Adapters acknowledge once the awaitable returned is done
        (its value: the inbox id, or None). Awaiting it raises
        :class:`bot.journal.JournalFull` when the event could not be kept (the store is
        unreachable and the journal full): do not acknowledge it. Call on the running
        loop."""
        self.observer.event_received(event.platform)
        return self.intake.capture(event)

    async def handle(self, event: InboundEvent) -> bool:
        """Capture a neutral event and wait until it is applied
        (:meth:`bot.intake.Intake.handle`); False when ignored or already applied. Raises
        ``JournalFull`` as :meth:`capture` does."""
        self.observer.event_received(event.platform)
        return await self.intake.handle(event)

    async def settle(self) -> None:
        """Wait until every event captured by this process is applied and its reply copies
        are posted (tests, the demo, the benchmarks)."""
        await self.intake.settle()
        await self.relay.settle()

    async def run_command(self, cmd: CommandInvoked, platform: ChatPlatform) -> CommandReply:
        """Run a command (:meth:`bot.commands.Commands.run`); user errors become replies.
        The events captured before it are applied first, for at most ``COMMAND_CATCH_UP``
        seconds: a digest or a status asked right after a stance counts it."""
        await self.catch_up()
        return await self.commands.run(cmd, platform)

    async def catch_up(self) -> None:
        """Wait until the events captured so far are applied, ``COMMAND_CATCH_UP`` seconds
        at most: before an answer that reads them (a command, one's stances)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.intake.settle(), COMMAND_CATCH_UP)

    async def reconcile(self, platform: ChatPlatform) -> ReconcileReport:
        """Compare every open round on ``platform`` with the platform's state and apply what
        was missed, tagged backfill (see :class:`bot.reconcile.Reconciler`). What this
        process captured is applied first: the comparison must not read a stance
        acknowledged but not yet applied as missing, or miss its removal."""
        await self.intake.settle()
        report = await self.reconciler.run(platform)
        self.observer.reconciled(platform.name)
        return report

    def close(self) -> None:
        """Finish queued store work and stop the database thread. Copies of replies still
        under way are dropped: the next reconciliation makes what they would have."""
        self.intake.close()
        self.relay.close()
        self.database.close()
