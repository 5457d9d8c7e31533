"""The database-thread side of the intake: record events durably, apply them from the inbox.

:class:`InboxWorker` does one *turn* at a time on the core's database thread
(:class:`bot.intake.Intake` decides when): either record the events captured meanwhile, or
apply one batch of inbox rows. Recording comes first, so an acknowledgement never waits for
more than one batch being applied.

* Record: the rows go into the inbox in one transaction. When the store fails (unreachable,
  locked past its timeout), they go to the local journal (:mod:`bot.journal`) instead, and
  the store is left alone for ``STORE_BACKOFF`` before it is tried again; the journal is
  moved into the inbox, oldest first, before anything else is recorded or applied.
* Apply: a batch of rows is taken (:meth:`storage.inbox.InboxQueries.inbox_batch`), each
  event applied by :class:`bot.apply.EventApplier`, and the rows marked applied, all in one
  transaction, committed after ``APPLY_SLICE`` seconds at most. If any event of the batch
  fails (malformed, a value of a type the database refuses in a statement, or a unique key
  hit by another process), the batch is rolled back and
  its rows are applied one transaction each, the failing one marked ``skipped``: the rest of
  the batch is not held back by it.
* Applied rows older than ``keep`` are pruned, at most once per ``PRUNE_EVERY``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    ProgrammingError,
    StatementError,
)

from bot import wire
from bot.apply import EventApplier
from bot.clock import Clock
from bot.events import InboundEvent
from bot.journal import Journal, JournalFull
from storage.records import NewInboxRow
from storage.store import Store

_log = logging.getLogger(__name__)
STORE_BACKOFF = 1.0
"""Seconds the store is left alone after it failed: events go to the journal meanwhile."""
PRUNE_EVERY = timedelta(minutes=10)
APPLY_SLICE = 0.02
"""Seconds after which a batch commits once it applied ``MIN_BATCH`` events: the bound on an
acknowledgement's wait (on a loaded machine, the minimum keeps batches worth their commit)."""
MIN_BATCH = 32
SHORT_SLICE = 0.005
"""Seconds of a short batch, applied during a burst (``bot.intake.APPLY_AT_LEAST_EVERY``):
at least one event, then a commit as soon as this is spent."""
MALFORMED = (AttributeError, TypeError, ValueError, KeyError, OverflowError, DataError)
"""What applying a malformed event raises (DataError: a value the database refuses)."""
_REFUSED_STATEMENT = (DataError, ProgrammingError, InterfaceError)
"""What the database raises for a statement one event's values made invalid: a value of
the wrong type it cannot bind (SQLite: ProgrammingError for a list) or compare (PostgreSQL:
UndefinedFunction for an integer compared with a varchar). An OperationalError, or any
error that invalidated the connection, is the store being down instead."""


def _malformed(err: Exception) -> bool:
    """Whether ``err``, raised while applying one batch of rows, is the fault of an event
    (to be skipped) rather than of the store (to be waited for, events kept meanwhile)."""
    if not isinstance(err, DBAPIError):
        return True  # a Python error, or a value SQLAlchemy could not even bind
    return isinstance(err, _REFUSED_STATEMENT) and not err.connection_invalidated


@dataclass(frozen=True, slots=True)
class Applied:
    """One inbox row applied: its id, its event (None if unreadable) and the outcome
    (``changed``, ``unchanged``, ``skipped``)."""

    row_id: int
    event: InboundEvent | None
    outcome: str


@dataclass(slots=True)
class Turn:
    """What one turn did. ``recorded``: per captured row, its inbox id, None (a
    re-delivery, or kept in the journal) or the error that kept it from being stored.
    ``applied`` in arrival order; ``more``: the batch was full; ``seen``: outcomes read for
    rows applied elsewhere; ``gap_closed``: the store is back after events were refused."""

    recorded: list[int | BaseException | None] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    more: bool = False
    seen: dict[int, str | None] = field(default_factory=dict)
    gap_closed: bool = False
    store_up: bool = True


class InboxWorker:
    """Records and applies (module docstring); every method runs on the database thread."""

    def __init__(self, store: Store, applier: EventApplier, clock: Clock, journal: Journal, *,
                 batch_size: int = 128, keep: timedelta = timedelta(days=7),
                 backoff: float = STORE_BACKOFF) -> None:
        self.store = store
        self.applier = applier
        self.clock = clock
        self.journal = journal
        self.batch_size = batch_size
        self.keep = keep
        self.backoff = backoff
        self._down_until = 0.0
        self._refused = False
        self._pruned_at: datetime | None = None

    def turn(self, rows: Sequence[NewInboxRow], check: Sequence[int],
             short: bool = False) -> Turn:
        """Record ``rows`` if any, else apply one batch (a short one if ``short``) and, if it
        was empty, read the outcomes of ``check`` (rows this process waits for, maybe
        applied elsewhere)."""
        result = Turn()
        if rows:
            result.recorded = self._record(rows)
        elif self._store_usable():
            try:
                self._drain_journal()
                result.applied, result.more = self._apply(short)
                if not result.applied and check:
                    result.seen = self.store.inbox_outcomes(check)
                self._prune()
            except DBAPIError as err:
                self._down(err)
        result.store_up = self._store_usable()
        if result.store_up and self._refused and self.journal.size() == 0:
            self._refused, result.gap_closed = False, True
        return result

    def _store_usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _down(self, err: DBAPIError) -> None:
        _log.warning("store unavailable (%s); keeping events in the journal",
                     type(err.orig or err).__name__)
        self._down_until = time.monotonic() + self.backoff
        _forget(self.applier)

    def _record(self, rows: Sequence[NewInboxRow]) -> list[int | BaseException | None]:
        if self._store_usable():
            try:
                self._drain_journal()
                return list(self.store.inbox_record(rows))
            except DBAPIError as err:
                self._down(err)
        try:
            kept = self.journal.append(rows)
        except OSError as err:
            _log.warning("journal not writable: %s", type(err).__name__)
            kept = 0
        if kept < len(rows):
            self._refused = True
        refused: list[int | BaseException | None] = [
            JournalFull() for _ in range(len(rows) - kept)]
        return [None] * kept + refused

    def _drain_journal(self) -> None:
        """Move the journal into the inbox, then empty it (a repeat is harmless)."""
        if self.journal.size() == 0:
            return
        rows = self.journal.rows()
        self.store.inbox_record(rows)
        self.journal.clear()
        _log.info("moved %d journalled events into the inbox", len(rows))

    def _apply(self, short: bool) -> tuple[list[Applied], bool]:
        try:
            return self._apply_batch(short)
        except (IntegrityError, *MALFORMED, StatementError) as err:
            if not isinstance(err, IntegrityError) and not _malformed(err):
                raise
            _log.info("a batch was rolled back (%s); applying its events one by one",
                      type(err).__name__)
        _forget(self.applier)
        done: list[Applied] = []
        while len(done) < self.batch_size and (one := self._apply_one()) is not None:
            done.append(one)
        return done, bool(done)

    def _apply_batch(self, short: bool) -> tuple[list[Applied], bool]:
        """Apply up to ``batch_size`` rows, stopping after ``APPLY_SLICE`` seconds (and
        ``MIN_BATCH`` rows; ``short``: ``SHORT_SLICE`` and one row): captures waiting for
        the thread wait about that long at most (the rest stay pending)."""
        deadline = time.monotonic() + (SHORT_SLICE if short else APPLY_SLICE)
        least = 1 if short else MIN_BATCH
        done: list[Applied] = []
        with self.store.inbox_batch(self.batch_size, self.clock.now()) as batch:
            for item in batch.items:
                done.append(self._applied(item.id, wire.decode(item.payload)))
                if len(done) >= least and time.monotonic() > deadline:
                    break
            batch.done([(a.row_id, a.outcome) for a in done])
        return done, len(done) < len(batch.items) or len(done) == self.batch_size

    def _applied(self, row_id: int, event: InboundEvent) -> Applied:
        changed = self.applier.apply(event)
        return Applied(row_id, event, "changed" if changed else "unchanged")

    def _apply_one(self) -> Applied | None:
        """The next row in its own transaction; a unique key hit by another process is
        retried once against the new state, a malformed event marked ``skipped``."""
        row_id: int | None = None
        for _attempt in range(2):
            try:
                with self.store.inbox_batch(1, self.clock.now()) as batch:
                    if not batch.items:
                        return None
                    row_id = batch.items[0].id
                    done = self._applied(row_id, wire.decode(batch.items[0].payload))
                    batch.done([(row_id, done.outcome)])
                    return done
            except IntegrityError:
                _forget(self.applier)
            except (*MALFORMED, StatementError) as err:
                if row_id is None or not _malformed(err):
                    raise  # the store failed, not this row: the turn backs off
                _log.warning("skipped a malformed event: %s",
                             type(getattr(err, "orig", None) or err).__name__)
                break
        _forget(self.applier)
        assert row_id is not None
        self.store.inbox_skip(row_id, self.clock.now())
        return Applied(row_id, None, "skipped")

    def _prune(self) -> None:
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        pruned = self.store.inbox_prune(now - self.keep)
        if pruned:
            _log.info("pruned %d applied inbox rows", pruned)


def _forget(applier: EventApplier) -> None:
    """Drop the applier's cached participants and targets after a unit of work rolled back:
    the participants it created are gone with it."""
    applier.forget_people()
    applier.forget_targets()
