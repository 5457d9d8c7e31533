"""Recording inbox rows (``InboxQueries.inbox_record``), on SQLite and PostgreSQL: each row's
id in order, None for a key already there or repeated in the call, across statements too;
the stored values are the ones SQLAlchemy's own INSERT stores for the inbox's columns; a
failing row records nothing; a SQLite without RETURNING is refused by name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import database_failure
from storage.db import SqliteTooOld, failure_kind, require_sqlite
from storage.models import InboxEntry
from storage.records import NewInboxRow
from tests.helpers import make_store

T0 = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
COLUMNS = "platform, delivery_key, partition, payload, received_at"


def row(key: str, *, platform: str = "discord", at: datetime = T0,
        payload: str | None = None) -> NewInboxRow:
    return NewInboxRow(platform, key, len(key) % 32,
                       payload if payload is not None else f'{{"kind":"x","key":"{key}"}}', at)


def stored(store) -> list[tuple]:
    """Every inbox row as the driver reads it back, raw, in id order."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT {COLUMNS} FROM inbox ORDER BY id")]


def ids_by_key(store) -> dict[tuple[str, str], int]:
    with store.engine.connect() as conn:
        return {(p, k): i for i, p, k in conn.exec_driver_sql(
            "SELECT id, platform, delivery_key FROM inbox")}


def test_ids_in_order_and_none_for_a_key_already_recorded(database_url):
    store = make_store(database_url)
    rows = [row("a"), row("b"), row("a"), row("b", platform="slack"), row("c")]
    first = store.inbox_record(rows)
    keys = ids_by_key(store)
    assert first == [keys["discord", "a"], keys["discord", "b"], None, keys["slack", "b"],
                     keys["discord", "c"]]
    assert first[0] < first[1] < first[3] < first[4]  # arrival order
    # A retry of a recorded row gets None; the new row of the same call its id.
    again = store.inbox_record([row("b"), row("d")])
    assert again[0] is None and again[1] == ids_by_key(store)["discord", "d"] > first[4]
    assert store.inbox_record([row("a"), row("c"), row("a")]) == [None, None, None]
    assert store.inbox_record([]) == []
    assert len(stored(store)) == 5
    store.engine.dispose()


def test_many_statements_in_one_call(database_url, monkeypatch):
    monkeypatch.setattr("storage.inbox.RECORD_CHUNK", 3)  # 10 distinct rows: 4 statements
    store = make_store(database_url)
    store.inbox_record([row("k4")])
    rows = [row(f"k{n}") for n in range(10)] + [row("k7"), row("k1")]
    result = store.inbox_record(rows)
    keys = ids_by_key(store)
    assert result == [None if n == 4 else keys["discord", f"k{n}"] for n in range(10)] \
        + [None, None]
    assert sorted(i for i in result if i is not None) == [i for i in result if i is not None]
    store.engine.dispose()


def test_stored_values_are_those_of_sqlalchemys_insert(database_url):
    """What the hand-written statement stores equals what SQLAlchemy's INSERT of the same
    rows (under other keys) stores, read back raw (a SQLite datetime is text: the same text,
    in UTC), and an applier reads the same payload and instant back."""
    store = make_store(database_url)
    paris = timezone(timedelta(hours=1))
    rows = [row("plain"), row("late", at=T0.astimezone(paris) + timedelta(seconds=1)),
            row("text", payload='{"text":"avis ✓ \\ud800 \'quoted\' %s ?"}', platform="slack")]
    store.inbox_record(rows)
    with store.engine.begin() as conn:
        conn.execute(insert(InboxEntry.__table__),
                     [r._replace(delivery_key="ref-" + r.delivery_key)._asdict() for r in rows])
    everything = stored(store)
    ours, theirs = everything[:len(rows)], everything[len(rows):]
    assert ours == [(p, k.removeprefix("ref-"), *rest) for p, k, *rest in theirs]
    with store.inbox_batch(10, T0) as batch:
        taken = [(item.payload, item.received_at) for item in batch.items]
        batch.done([])
    assert taken[:len(rows)] == [(r.payload, r.received_at) for r in rows]
    assert all(at.tzinfo is not None for _, at in taken)
    store.engine.dispose()


def test_a_failing_row_records_nothing(database_url, monkeypatch):
    monkeypatch.setattr("storage.inbox.RECORD_CHUNK", 2)
    store = make_store(database_url)
    rows = [row("ok1"), row("ok2"), row("ok3"), row("x" * 300)]  # a key over String(200)
    if database_url.startswith("sqlite"):
        # SQLite does not enforce lengths: a NULL payload breaks NOT NULL instead.
        rows[3] = row("bad")._replace(payload=None)
    with pytest.raises(SQLAlchemyError):
        store.inbox_record(rows)
    assert stored(store) == []
    store.engine.dispose()


def test_a_sqlite_without_returning_is_refused_by_name():
    require_sqlite((3, 35, 0))
    require_sqlite((3, 45, 1))
    with pytest.raises(SqliteTooOld, match=re.escape("SQLite 3.34.1 is too old: planbot needs 3.35.0")):
        require_sqlite((3, 34, 1))
    error = SqliteTooOld("SQLite 3.31.1 is too old")
    assert failure_kind(error) == "old_sqlite"
    told = database_failure(error)
    assert "SQLite 3.35" in told.message("en") and "SQLite 3.35" in told.message("fr")
