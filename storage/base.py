"""The store's foundation: sessions, Core connections and the prebuilt hot statements."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Self

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    and_,
    bindparam,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from storage.models import (
    Base,
    Participant,
    ProcessedEvent,
    Stance,
    Statement,
)

_log = logging.getLogger(__name__)


class StoreBase:
    """Holds the engine and opens units of work: an ORM session (``_tx``) or, on the hot
    event path, a Core connection (``_conn``); each commits on success and rolls back on
    error. The query modules build on it; :class:`storage.store.Store` assembles them.

    :meth:`snapshot` gives a view of the store whose reads all see one consistent state."""

    _pinned: Connection | None = None
    """The snapshot's connection, in a view made by :meth:`snapshot`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._hot = _HotStatements(self._insert_ignore)

    @contextmanager
    def snapshot(self) -> Iterator[Self]:
        """A view of this store whose reads all see the database as it was at its first read,
        whatever other processes write meanwhile: one REPEATABLE READ transaction on
        PostgreSQL ("sees only data committed before the transaction began", PostgreSQL docs,
        13.2.2), one read transaction on SQLite (in WAL mode a reader keeps the snapshot of
        its first read until its transaction ends: https://www.sqlite.org/wal.html,
        "Concurrency"). Writes through the view (:meth:`_write_tx`) run in their own
        transaction, outside the snapshot. Nothing is committed by the snapshot itself; use
        the view on one thread only, and not after the ``with`` block."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
                conn.begin()
            else:
                # pysqlite opens no transaction for a SELECT: without BEGIN each read would
                # see the latest commit.
                conn.exec_driver_sql("BEGIN")
            view = copy.copy(self)
            view._pinned = conn
            try:
                yield view
            finally:
                conn.rollback()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """An ORM session in a transaction (in a snapshot view: in the snapshot's)."""
        if self._pinned is not None:
            # Joins the snapshot's transaction; closing the session leaves it open.
            with Session(bind=self._pinned, expire_on_commit=False,
                         join_transaction_mode="create_savepoint") as session:
                yield session
            return
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _write_tx(self) -> Iterator[Session]:
        """An ORM session in a transaction of its own, even in a snapshot view: writes made
        while a snapshot is read (the analysis state a digest saves)."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        """A Core connection in a transaction: the hot event path skips the ORM's overhead
        (in a snapshot view: the snapshot's connection)."""
        if self._pinned is not None:
            yield self._pinned
            return
        with self.engine.begin() as conn:
            yield conn

    def _claim(self, s: Session | Connection, event_key: str | None, now: datetime) -> bool:
        """Record ``event_key`` in this transaction; False if it was already applied."""
        if event_key is None:
            return True
        res = s.execute(self._hot.claim, {"event_key": event_key, "processed_at": now})
        return res.first() is not None

    def event_applied(self, event_key: str | None) -> bool:
        """Whether the event ``event_key`` was applied already (False without a key)."""
        if event_key is None:
            return False
        with self._conn() as c:
            return c.execute(self._hot.applied, {"event_key": event_key}).first() is not None


    def _insert_ignore(self, table: Table | type[Base]) -> Insert:
        """An INSERT that does nothing on a unique-key conflict, on SQLite and PostgreSQL."""
        if self.engine.dialect.name == "postgresql":
            return pg_insert(table).on_conflict_do_nothing()
        return sqlite_insert(table).on_conflict_do_nothing()


class _HotStatements:
    """Statements of the per-event path, built once with bind parameters.

    Building a SQLAlchemy statement costs more than running it on SQLite; these are built
    on Core tables (no ORM compile step) and reused for every event. Wherever the current
    stance moves, the old current row is cleared before the new one is set: the partial
    unique index is checked row by row.
    """

    def __init__(self, insert_ignore: Callable[[Table], Insert]) -> None:
        p = _table(Participant)
        self.insert_participant = insert_ignore(p)
        self.participant_id = select(p.c.id).where(p.c.key_hash == bindparam("key_hash"))
        self.rename_participant = p.update().where(
            p.c.id == bindparam("pid"), p.c.display_name.is_distinct_from(bindparam("name"))
        ).values(display_name=bindparam("name"))
        t = _table(Stance)
        pair = and_(t.c.participant_id == bindparam("pid"), t.c.statement_id == bindparam("sid"))
        processed = _table(ProcessedEvent)
        self.claim = insert_ignore(processed).returning(processed.c.event_key)
        self.applied = select(processed.c.event_key).where(
            processed.c.event_key == bindparam("event_key"))
        self.remove_stance = t.update().where(t.c.id == bindparam("row_id")).values(
            removed_at=bindparam("removed_at"), is_current=False)
        self.pair_rows = select(t.c.id, t.c.emoji_key, t.c.stance, t.c.added_at,
                                t.c.removed_at, t.c.is_current, t.c.version).where(pair)
        st = _table(Statement)
        version = select(st.c.version).where(st.c.id == bindparam("sid")).scalar_subquery()
        self.statement_version = select(st.c.version).where(st.c.id == bindparam("sid"))
        self.flag_current = t.update().where(t.c.id == bindparam("row_id")).values(
            is_current=bindparam("flag"))
        self.insert_stance = t.insert()
        self.revive_stance = t.update().where(t.c.id == bindparam("row_id")).values(
            removed_at=None, added_at=bindparam("added_at"), source=bindparam("source"),
            emoji_raw=bindparam("emoji_raw"), stance=bindparam("stance"),
            is_current=bindparam("is_current"), version=bindparam("version"))
        self.clear_current = t.update().where(pair, t.c.is_current.is_(True)).values(
            is_current=False)
        # Only a stance given to the statement's current text can count (issue 10).
        winner = (select(t.c.id).where(pair, t.c.removed_at.is_(None), t.c.stance.is_not(None),
                                       t.c.version == version)
                  .order_by(t.c.added_at.desc(), t.c.id.desc()).limit(1).scalar_subquery())
        self.set_current = t.update().where(t.c.id == winner).values(is_current=True)


def _table(model: type[Base]) -> Table:
    """The Core table a model is mapped to (typed as a plain ``FromClause`` by SQLAlchemy)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
