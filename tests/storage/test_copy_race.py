"""A copy recorded while its reply is erased, on PostgreSQL with two engines (two processes):
``CopyQueries.record_copy`` and ``PrivacyQueries.erase_participant`` each stopped halfway
by a hook on its engine, while the other runs into the lock between them. Whichever comes
first, the copy is seen by one side: the erasure lists it to delete, or the relay is told
its reply is gone. (SQLite serialises the two by its write lock: tests/bot/test_relay_gone.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.events import Actor, ReplyPosted
from bot.platform import ChannelRef
from storage.inbox import PendingOf
from tests.helpers import START, RecordingPlatform, make_core, make_store

NOBODYS = PendingOf("discord", '"u1"', lambda _payload: False)
COPY = ("slack", "T1", "C1", "9001", "9000", 0)
TURNS = 100_000
"""Polls of the server at most while waiting for a thread to stop or block."""


class Paused:
    """Watches the statements ``thread`` runs on ``engine``: stops it right after one that
    ``matches`` ran, until :meth:`go`; ``pid`` is the server process of its connection."""

    def __init__(self, engine: Any, thread: threading.Thread,
                 matches: Callable[[str], bool] = lambda _sql: False) -> None:
        self.here, self.resume = threading.Event(), threading.Event()
        self.pid: int | None = None
        self.thread, self.matches = thread, matches
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, _cursor, _statement, *_args) -> None:
        if threading.current_thread() is self.thread:
            self.pid = conn.connection.dbapi_connection.info.backend_pid

    def _after(self, _conn, _cursor, statement, *_args) -> None:
        if threading.current_thread() is self.thread and self.matches(statement) \
                and not self.resume.is_set():
            self.here.set()
            self.resume.wait()

    def go(self) -> None:
        self.resume.set()


class Run(threading.Thread):
    """``work()`` in a thread of its own; :attr:`result` once joined."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work: Callable[[], Any] = work
        self.result: Any = None

    def run(self) -> None:
        self.result = self.work()


def blocks(store, watched: Paused) -> bool:
    """Wait until the watched thread ended or its connection waits for a lock another
    holds; True if it blocked."""
    with store.engine.connect() as conn:
        for _ in range(TURNS):
            if not watched.thread.is_alive():
                return False
            if watched.pid is not None and conn.execute(
                    text("SELECT cardinality(pg_blocking_pids(:pid)) > 0"),
                    {"pid": watched.pid}).scalar():
                return True
    raise AssertionError("the thread neither ended nor blocked")


@pytest.fixture
async def reply_on_pg(tmp_path, database_url):
    """(store, another store on the same database, reply statement id, u1's pseudonym)."""
    core = make_core(tmp_path, database_url=database_url)
    discord = RecordingPlatform()
    core.attach(discord)
    await core.rounds.open(plan="sample", channel=ChannelRef("discord", "g1", "c1"),
                           platform=discord)
    await core.handle(ReplyPosted(platform="discord", workspace_id="g1", channel_id="1000",
                                  occurred_at=START, actor=Actor("u1"), message_id="7001",
                                  thread_id="1000", text="Mine"))
    await core.settle()
    statement_id = core.store.find_message("discord", "1000", "7001").statement_id
    other = make_store(database_url)
    yield core.store, other, statement_id, core.pseudonyms.key("discord", "u1")
    other.engine.dispose()
    core.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_copy_recorded_during_an_erasure_is_told_its_reply_is_gone(reply_on_pg):
    """The erasure has blanked the reply, not committed; the copy's row is written and its
    reply's state read: that read waits for the erasure and reads it committed."""
    store, other, statement_id, key = reply_on_pg
    erasing = Run(lambda: other.erase_participant(key, START, NOBODYS))
    paused = Paused(other.engine, erasing, lambda sql: sql.startswith("UPDATE statements SET text"))
    erasing.start()
    assert paused.here.wait(30)
    recording = Run(lambda: store.record_copy(statement_id, COPY))
    watched = Paused(store.engine, recording)
    recording.start()
    blocked = blocks(other, watched)
    paused.go()
    erasing.join()
    recording.join()
    assert blocked and recording.result is False
    assert erasing.result.copies == []  # not committed when the erasure read the copies


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_erasure_during_a_copys_record_lists_that_copy(reply_on_pg):
    """The copy's row is written and its reply share-locked, not committed: the erasure
    waits before it reads the copies, and lists this one to delete."""
    store, other, statement_id, key = reply_on_pg
    recording = Run(lambda: store.record_copy(statement_id, COPY))
    paused = Paused(store.engine, recording, lambda sql: "FOR SHARE" in sql)
    recording.start()
    assert paused.here.wait(30)
    erasing = Run(lambda: other.erase_participant(key, START, NOBODYS))
    watched = Paused(other.engine, erasing)
    erasing.start()
    blocked = blocks(store, watched)
    paused.go()
    recording.join()
    erasing.join()
    assert recording.result is True  # the reply stood when the copy was recorded...
    assert blocked and [c.message_id for c in erasing.result.copies] == ["9001"]  # ...listed
