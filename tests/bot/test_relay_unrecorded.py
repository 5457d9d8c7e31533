"""A copy the store could not record is deleted at once (``bot.relay``), on SQLite and
PostgreSQL: the store briefly unavailable (another connection holds a lock; the store's
connections are made to give up at once, as they would past SQLite's busy timeout or a
PostgreSQL lock timeout) when the copy's post succeeded. Unrecorded, no erasure nor
reconciliation could find it. The pass carries on with the other channels, a later pass
copies the reply again, and a copy whose deletion the platform refused too is deleted by the
next pass before any other is posted in its thread."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import event

from bot.core import Core
from tests.bot import test_relay_gone
from tests.bot.test_relay_gone import REACHED, S1, Held, reply

three = test_relay_gone.three

TEXT = "Zq7 words of mine"


class StoreLock:
    """Another connection holding the write lock on the store's copies; the store's own
    connections fail at once where they would wait (no clock involved)."""

    def __init__(self, core: Core, url: str) -> None:
        engine = core.store.engine
        self._other: sqlite3.Connection | psycopg.Connection | None
        if url.startswith("sqlite"):
            event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout=0"))
            engine.dispose()  # connections made from now on give up at once
            self._other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self._other.execute("BEGIN IMMEDIATE")
            return
        event.listen(engine, "connect", _no_lock_wait)
        engine.dispose()
        schema = url.rsplit("search_path%3D", 1)[1]
        self._other = psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres")
        self._other.execute(f"LOCK TABLE {schema}.platform_messages IN EXCLUSIVE MODE")

    def release(self) -> None:
        """Commit and close the other connection; once done, does nothing."""
        if self._other is None:
            return
        self._other.commit() if isinstance(self._other, psycopg.Connection) \
            else self._other.execute("COMMIT")
        self._other.close()
        self._other = None


def _no_lock_wait(conn, _record) -> None:
    # 1 ms, PostgreSQL's least: 0 would wait for ever.
    conn.execute("SET lock_timeout = 1")
    conn.commit()


def on_delete(platform: Held, then: Callable[[], None], refusals: int = 0) -> None:
    """Call ``then`` at ``platform``'s first ``delete_copy``; its first ``refusals`` calls
    fail, as a platform does under its rate limits."""
    delete, calls = platform.delete_copy, []

    async def deleting(channel, message_id):
        calls.append(message_id)
        if len(calls) == 1:
            then()
        if len(calls) <= refusals:
            raise RuntimeError("rate limited")
        await delete(channel, message_id)

    platform.delete_copy = deleting  # type: ignore[method-assign]


def up(platform: Held) -> list[str]:
    return [m for m in platform.posted if (S1, m) not in platform.deleted]


def recorded(core: Core, mid: str) -> list[tuple[str, str]]:
    statement = core.store.find_message("discord", "1000", mid).statement_id
    return [(c.platform, c.message_id) for c in core.store.copies_of(statement).copies]


async def copied_while_the_store_is_locked(three, refusals: int = 0):
    core, url, discord, slack = three
    await core.handle(reply("7001", TEXT))
    await asyncio.wait_for(slack.reached.wait(), REACHED)
    lock = StoreLock(core, url)
    on_delete(slack, lock.release, refusals)
    slack.release()
    try:
        await core.settle()
    finally:
        lock.release()  # if no deletion released it
    return core, discord, slack


async def test_a_copy_the_store_could_not_record_is_deleted_at_once(three, caplog):
    """Recording the Slack copy fails: it is deleted at once and c2's copy, after it, is
    made; the next reconciliation of Slack copies the reply there again, once; the erasure
    then finds every copy up."""
    caplog.set_level(logging.WARNING)
    core, discord, slack = await copied_while_the_store_is_locked(three)

    assert [t for _, _, t in slack.copies] == [slack.copies[0][2]] and TEXT in slack.copies[0][2]
    assert up(slack) == []  # deleted at once...
    [(_, to_c2)] = recorded(core, "7001")  # ...and the pass went on to c2
    assert [mid for _, mid in discord.deleted] == [] and len(discord.copies) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.relay"]
    assert any("could not record a copy" in w for w in warnings)
    assert all("Zq7" not in w and slack.posted[0] not in w for w in warnings)

    report = await core.reconcile(slack)
    assert report.copies_posted == 1
    assert len(up(slack)) == 1 and ("slack", up(slack)[0]) in recorded(core, "7001")
    await core.reconcile(slack)
    assert len(slack.posted) == 2  # not copied a third time

    erased = await core.privacy.erase("discord", "u1", "chat")
    assert (erased.copies_deleted, erased.copies_left) == (2, [])
    assert up(slack) == [] and discord.deleted == [(discord.deleted[0][0], to_c2)]


@pytest.mark.allow_logged_errors
async def test_a_copy_neither_recorded_nor_deleted_is_deleted_by_the_next_pass(three, caplog):
    """Slack refuses the deletion twice: the copy is kept in memory (an error logged, no id
    nor text in it), and no second copy is posted in its thread while it is up; the pass
    where Slack deletes it then copies the reply there again."""
    caplog.set_level(logging.WARNING)
    core, _discord, slack = await copied_while_the_store_is_locked(three, refusals=2)

    assert up(slack) == slack.posted and len(slack.posted) == 1
    assert [p for p, _ in recorded(core, "7001")] == ["discord"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "by hand" in errors[0]
    assert all("Zq7" not in r.getMessage() and slack.posted[0] not in r.getMessage()
               for r in caplog.records)

    await core.reconcile(slack)  # refused again: nothing posted beside it
    assert up(slack) == slack.posted and len(slack.posted) == 1
    await core.reconcile(slack)  # deleted, then copied again
    first, second = slack.posted
    assert (S1, first) in slack.deleted and up(slack) == [second]
    assert ("slack", second) in recorded(core, "7001")
