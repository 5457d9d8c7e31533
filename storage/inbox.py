"""The inbox: inbound events recorded raw before they are applied, then taken in batches.

Recording is one short transaction (:meth:`InboxQueries.inbox_record`); an adapter
acknowledges right after it. Appliers take rows with :meth:`InboxQueries.inbox_batch`: the
partitions they claim are locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL
(SQLite, one process, renders no ``FOR UPDATE`` and runs the same statements), their rows are
read in arrival order, every store write made while applying them joins the same transaction,
and the rows are marked applied in it too: a crash before the commit leaves the rows pending
and their effects unwritten, so nothing is lost and nothing applied twice.

An erasure takes every partition, waiting for the appliers that hold some
(:func:`hold_inbox`), then marks the person's pending rows done without applying them
(:func:`drop_pending`): what they did before it never reaches the store after it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.base import StoreBase, _table
from storage.models import INBOX_PARTITIONS, InboxEntry, InboxPartition
from storage.records import InboxItem, NewInboxRow

RECORD_CHUNK = 500
"""Rows per INSERT statement (5 bound values each: 2,500, below SQLite's 32,766 and
PostgreSQL's 65,535)."""
PARTITIONS_PER_BATCH = 8
"""Partitions one applier claims at a time: the rest stay free for other processes."""
ERASED = "erased"
"""Outcome of a row its author's erasure discarded before it was applied."""
OUTCOMES = ("changed", "unchanged", "skipped", ERASED)
_log = logging.getLogger(__name__)


def partition_of(platform: str, channel_id: str) -> int:
    """The inbox partition of events in ``channel_id`` on ``platform``: CRC-32 of
    ``platform:channel_id`` modulo ``INBOX_PARTITIONS`` (stable across processes and runs,
    unlike Python's salted ``hash``)."""
    return zlib.crc32(f"{platform}:{channel_id}".encode()) % INBOX_PARTITIONS


@dataclass(frozen=True, slots=True)
class PendingOf:
    """Which pending rows are one person's: rows of ``platform`` whose payload contains
    ``needle`` (a filter the database runs: the person's id as payloads spell it) and that
    ``theirs`` accepts (the exact test, given the payload; ``bot.privacy`` reads it)."""

    platform: str
    needle: str
    theirs: Callable[[str], bool]


def _pending_ids(s: Session | Connection, of: PendingOf) -> list[int]:
    t = _table(InboxEntry)
    return [row_id for row_id, payload in s.execute(
        select(t.c.id, t.c.payload).where(t.c.applied_at.is_(None), t.c.platform == of.platform,
                                          t.c.payload.contains(of.needle, autoescape=True))
        .order_by(t.c.id)) if of.theirs(payload)]


def hold_inbox(s: Session | Connection) -> None:
    """Take every partition for the caller's transaction, as an applier takes some but
    waiting (no ``SKIP LOCKED``) for those other appliers hold: their batches commit first,
    and no batch starts until the caller's transaction ends. Call it first in the
    transaction: it then waits holding nothing, and on SQLite, where the transaction starts
    at its first write (pysqlite), every read that follows is in it, after the write lock."""
    p = _table(InboxPartition)
    every = select(p.c.id).order_by(p.c.id).with_for_update()  # one order: no deadlock
    s.execute(update(p).where(p.c.id.in_(every.scalar_subquery()))
              .values(claimed_at=p.c.claimed_at))


def drop_pending(s: Session | Connection, of: PendingOf, now: datetime) -> int:
    """Mark the pending rows of ``of`` applied at ``now`` as :data:`ERASED`, their payloads
    dropped, in the caller's transaction (after :func:`hold_inbox`, so that no applier holds
    one); returns how many."""
    ids = _pending_ids(s, of)
    if ids:
        t = _table(InboxEntry)
        s.execute(update(t).where(t.c.id.in_(ids))
                  .values(applied_at=now, outcome=ERASED, payload=""))
    return len(ids)


class InboxBatch:
    """Rows an applier holds: ``items`` in arrival order; :meth:`done` marks them applied in
    the batch's transaction."""

    def __init__(self, conn: Connection, items: list[InboxItem], now: datetime) -> None:
        self.items = items
        self._conn = conn
        self._now = now

    def done(self, outcomes: Sequence[tuple[int, str]]) -> None:
        """Mark rows ``(id, outcome)`` applied (``outcome`` one of ``OUTCOMES``) and drop
        their payloads: an applied row keeps only what recognises a re-delivery (its
        delivery key), not people's text and ids, which the store holds, erases and purges
        under its own rules (issue 10)."""
        if not outcomes:
            return
        t = _table(InboxEntry)
        self._conn.execute(
            update(t).where(t.c.id == bindparam("row_id"))
            .values(applied_at=self._now, outcome=bindparam("result"), payload=""),
            [{"row_id": row_id, "result": result} for row_id, result in outcomes])


class _RecordStatement:
    """``INSERT INTO inbox (...) VALUES (...), (...) ON CONFLICT DO NOTHING``, written once
    per row count and run as the driver's own SQL; :meth:`run` gives the new rows' ids.

    SQLAlchemy's executemany of the same statement (insertmanyvalues) cost 25 to 35 µs per
    row on SQLite, building and processing every row's parameters in Python; this costs a
    few (``bench/bench_discord.py``, docs/decisions.md "The inbox"). A ``DO NOTHING``
    without a conflict target skips a row that would break any unique key. Values are bound
    as SQLAlchemy binds them for the inbox's columns (a SQLite datetime as text, in UTC).

    The ids: PostgreSQL (9.5 and later) answers ``RETURNING id, platform, delivery_key``
    for the rows inserted, all at once. On SQLite every row of a result is one
    ``sqlite3_step``, for which Python's sqlite3 releases the interpreter's lock and takes
    it back (one more wait for the lock whenever the event loop holds it), and reading the
    rows cost more than inserting them: a record of 128 rows took 0.93 ms of CPU with
    ``RETURNING``, 0.55 ms without (32 rows: 0.25 and 0.20 ms; ``InboxWorker.turn`` alone).
    So SQLite answers without rows: the statement holds the write lock while it inserts,
    and gives each new row the largest rowid so far plus one ("The usual algorithm",
    https://www.sqlite.org/autoinc.html; ``inbox.id`` is the rowid), so the ``n`` rows it
    inserted (``changes()``, the cursor's ``rowcount``) have the ids up to the last one
    (``last_insert_rowid()``, its ``lastrowid``), in the order given. When every row went in
    (no retry among them, nearly always), those are the ids; when some did not, the new
    rows are read back by id. SQLite 3.35 or later is needed for the RETURNING of the
    store's other statements (``storage.db.create_store_engine`` refuses an older one).
    """

    def __init__(self, dialect: Dialect) -> None:
        t, quote = _table(InboxEntry), dialect.identifier_preparer.quote
        columns = [t.c[name] for name in NewInboxRow._fields]
        table = dialect.identifier_preparer.format_table(t)
        self._head = (f"INSERT INTO {table} ({', '.join(quote(c.name) for c in columns)}) "
                      "VALUES ")
        answer = ", ".join(quote(c.name) for c in (t.c.id, t.c.platform, t.c.delivery_key))
        self._by_rowid = dialect.name == "sqlite"
        self._tail = " ON CONFLICT DO NOTHING" + ("" if self._by_rowid
                                                  else f" RETURNING {answer}")
        self._since = f"SELECT {answer} FROM {table} WHERE {quote(t.c.id.name)} > ?"
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self._row = f"({', '.join([marker] * len(columns))})"
        self._received = NewInboxRow._fields.index("received_at")
        # The dialect's own form of the column's type: the plain type's processor would
        # skip the dialect's step (SQLite's text form) and leave it to the driver.
        convert = t.c.received_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert convert is not None  # UTCDateTime converts on every backend
        self._convert: Callable[[Any], Any] = convert
        self._texts: dict[int, str] = {}

    def run(self, conn: Connection, rows: Sequence[NewInboxRow]
            ) -> Iterable[tuple[int, str, str]]:
        """Insert ``rows`` (1 to ``RECORD_CHUNK``, distinct keys); ``(id, platform,
        delivery_key)`` of those inserted, in no set order."""
        result = conn.exec_driver_sql(*self._bind(rows))
        if not self._by_rowid:
            return result.tuples()
        inserted, last = result.rowcount, result.lastrowid
        if inserted == len(rows):
            first = last - inserted + 1
            return ((first + n, row.platform, row.delivery_key) for n, row in enumerate(rows))
        if inserted == 0:  # lastrowid is then an older insert's, maybe another table's
            return ()
        return conn.exec_driver_sql(self._since, (last - inserted,)).tuples()

    def _bind(self, rows: Sequence[NewInboxRow]) -> tuple[str, tuple[Any, ...]]:
        sql = self._texts.get(len(rows))
        if sql is None:
            sql = self._texts[len(rows)] = (self._head + ", ".join([self._row] * len(rows))
                                            + self._tail)
        width, at = len(NewInboxRow._fields), self._received
        values = list(chain.from_iterable(rows))
        values[at::width] = map(self._convert, values[at::width])
        return sql, tuple(values)


class InboxQueries(StoreBase):
    """Record, take, mark and prune inbox rows."""

    _recording: _RecordStatement | None = None

    def inbox_record(self, rows: Sequence[NewInboxRow]) -> list[int | None]:
        """Record ``rows`` in one transaction; returns each row's new id in order, None for a
        row whose ``(platform, delivery_key)`` is already there (a retry, also within
        ``rows``). Raises ``SQLAlchemyError`` when the store fails: then nothing is recorded."""
        fresh: dict[tuple[str, str], NewInboxRow] = {}
        for row in rows:
            fresh.setdefault((row.platform, row.delivery_key), row)
        unique = list(fresh.values())
        if self._recording is None:
            self._recording = _RecordStatement(self.engine.dialect)
        ids: dict[tuple[str, str], int] = {}
        with self._conn() as c:
            for start in range(0, len(unique), RECORD_CHUNK):
                chunk = unique[start:start + RECORD_CHUNK]
                ids.update({(p, k): i for i, p, k in self._recording.run(c, chunk)})
        result: list[int | None] = []
        for row in rows:
            # The first of two rows with one key gets the id; the second is its retry.
            result.append(ids.pop((row.platform, row.delivery_key), None))
        return result

    @contextmanager
    def inbox_batch(self, limit: int, now: datetime) -> Iterator[InboxBatch]:
        """Take up to ``limit`` pending rows, in arrival order, from up to
        ``PARTITIONS_PER_BATCH`` partitions no other applier holds (least recently claimed
        first), in one transaction that every store call of this thread joins until the
        block ends. The block calls :meth:`InboxBatch.done`; leaving it commits, then runs the
        work deferred to after the commit (``StoreBase._after_commit``; a failure there is
        logged); an exception rolls everything back (the rows stay pending)."""
        t, p = _table(InboxEntry), _table(InboxPartition)
        pending = select(t.c.partition).where(t.c.applied_at.is_(None))
        pick = (select(p.c.id).where(p.c.id.in_(pending))
                .order_by(p.c.claimed_at.asc().nulls_first(), p.c.id)
                .limit(PARTITIONS_PER_BATCH).with_for_update(skip_locked=True))
        # The claim is an UPDATE: on SQLite a transaction that starts by writing waits for
        # the write lock (busy timeout), where one that reads first could fail at once.
        claim = update(p).where(p.c.id.in_(pick.scalar_subquery())).values(
            claimed_at=now).returning(p.c.id)
        after: list[Callable[[], None]] = []
        with self.engine.begin() as conn:
            parts = list(conn.execute(claim).scalars())
            items: list[InboxItem] = []
            if parts:
                items = [InboxItem(*r) for r in conn.execute(
                    select(t.c.id, t.c.platform, t.c.payload, t.c.received_at)
                    .where(t.c.applied_at.is_(None), t.c.partition.in_(parts))
                    .order_by(t.c.id).limit(limit))]
            with self._within(conn, after):
                yield InboxBatch(conn, items, now)
        for work in after:
            try:
                work()
            except SQLAlchemyError as err:
                # The batch is committed; what follows it is upkeep that the next run redoes.
                _log.warning("work after an inbox batch failed (%s)", type(err).__name__)

    def inbox_skip(self, row_id: int, now: datetime) -> None:
        """Mark one row applied as ``skipped`` (it cannot be applied), in its own transaction."""
        with self.engine.begin() as conn:
            InboxBatch(conn, [], now).done([(row_id, "skipped")])

    def inbox_outcomes(self, ids: Sequence[int]) -> dict[int, str | None]:
        """``id -> outcome`` of the given rows (None while pending; absent once pruned)."""
        t = _table(InboxEntry)
        with self._conn() as c:
            return {i: o for i, o in c.execute(
                select(t.c.id, t.c.outcome).where(t.c.id.in_(list(ids))))}

    def inbox_pending(self) -> int:
        """How many rows wait to be applied (all processes)."""
        t = _table(InboxEntry)
        with self._conn() as c:
            return int(c.execute(select(func.count()).select_from(t)
                                 .where(t.c.applied_at.is_(None))).scalar_one())

    def inbox_pending_of(self, of: PendingOf) -> int:
        """How many rows of ``of`` wait to be applied (all processes)."""
        with self._conn() as c:
            return len(_pending_ids(c, of))

    def inbox_prune(self, before: datetime) -> int:
        """Delete rows applied before ``before``; returns how many. Pending rows stay."""
        t = _table(InboxEntry)
        with self._conn() as c:
            return c.execute(delete(t).where(t.c.applied_at < before)).rowcount
