"""The durable inbox (issue 12), on SQLite and PostgreSQL: a crash between recording and
applying loses nothing and applies nothing twice; a re-delivery is one row, applied once;
applying in batches equals applying event by event; the local journal takes events while
the store is locked and gives them back; a full journal refuses them (the adapter does not
acknowledge) and a reconciliation follows; applied rows are pruned."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import stat
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event

from bot import wire
from bot.events import (
    Actor,
    Emoji,
    ReactionAdded,
    ReactionRemoved,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from bot.inbox import PRUNE_EVERY
from bot.journal import FILE_NAME, JournalFull
from bot.service.build import build_core
from tests.bot.test_events_once import open_sample, snapshot
from tests.helpers import START, RecordingPlatform, make_core

CH = dict(platform="discord", workspace_id="g1", channel_id="c1")
SECTION_THREADS = ("1000", "1001", "1002")


class Crash(BaseException):
    """The process dying in the middle of a batch (not an ``Exception``: nothing catches it)."""


def mixed_events(seed: int, count: int) -> list:
    """``count`` reactions added and removed, replies posted, edited and deleted, Slack
    retries (same ``event_key``) among them, in a random but reproducible order; every
    event a second after the one before."""
    rng = random.Random(seed)
    events: list = []
    replies: list[tuple[str, str]] = []
    for n in range(count):
        at = START + timedelta(seconds=n)
        roll = rng.random()
        user = f"u{rng.randrange(12)}"
        if roll < 0.45:
            kind = ReactionAdded if rng.random() < 0.7 else ReactionRemoved
            events.append(kind(**CH, occurred_at=at, actor=Actor(user),
                               message_id=rng.choice(("1000", "1001", "1002")),
                               emoji=Emoji(rng.choice(("👍", "👎", "🤷"))),
                               event_key=f"slack:Ev{n}" if rng.random() < 0.3 else None))
        elif roll < 0.7 or not replies:
            thread = rng.choice(SECTION_THREADS)
            mid = str(5000 + n)
            replies.append((thread, mid))
            events.append(ReplyPosted(platform="discord", workspace_id="g1", channel_id=thread,
                                      occurred_at=at, actor=Actor(user), message_id=mid,
                                      thread_id=thread, text=f"avis {n}"))
        elif roll < 0.85:
            thread, mid = rng.choice(replies)
            events.append(ReplyEdited(platform="discord", workspace_id="g1", channel_id=thread,
                                      occurred_at=at, message_id=mid, text=f"revu {n}"))
        elif roll < 0.92:
            thread, mid = rng.choice(replies)
            events.append(ReplyDeleted(platform="discord", workspace_id="g1",
                                       channel_id=thread, occurred_at=at, message_id=mid))
        else:
            events.append(rng.choice(events))  # a re-delivery
    return events


@pytest.fixture
async def core(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    yield core
    core.close()
    core.store.engine.dispose()


def comparable(core, round_id):
    """:func:`snapshot` without database ids: PostgreSQL sequences are not rolled back with
    a crashed batch, so ids differ from a run without a crash while the contents agree.
    Votes become, per participant, the set of (statement, value) with statements named."""
    counts, participation, triples = snapshot(core, round_id)
    names = {str(c.id): (c.kind, c.section_key, c.text)
             for c in core.store.statement_counts(round_id)}
    people: dict[str, set] = {}
    for vote in triples.votes:
        people.setdefault(vote.participant, set()).add((names[vote.statement], vote.value))
    return counts, participation, sorted(sorted(v) for v in people.values())


async def reference(tmp_path, events):
    """The round as event-by-event application leaves it (each event applied, in its own
    transaction, before the next is captured), on a SQLite store of its own."""
    ref = make_core(tmp_path / "ref")
    try:
        round_id, _ = await open_sample(ref)
        for ev in events:
            await ref.handle(ev)
        return comparable(ref, round_id)
    finally:
        ref.close()
        ref.store.engine.dispose()


async def test_batch_application_equals_event_by_event(core, tmp_path):
    round_id, _ = await open_sample(core)
    events = mixed_events(7, 300)
    for ev in events:
        await core.capture(ev)  # recorded; applied in batches as the burst allows
    await core.settle()
    assert core.store.inbox_pending() == 0
    assert comparable(core, round_id) == await reference(tmp_path, events)


async def test_crash_between_record_and_apply_loses_nothing_applies_nothing_twice(
        core, tmp_path, monkeypatch):
    monkeypatch.setattr("bot.inbox.APPLY_SLICE", 3600.0)  # one batch, however slow the machine
    round_id, _ = await open_sample(core)
    events = mixed_events(11, 120)
    rows = [wire.inbox_row(ev, core.clock.now()) for ev in events]
    distinct = {(r.platform, r.delivery_key) for r in rows}
    core.store.inbox_record(rows)
    untouched = snapshot(core, round_id)
    worker, applied = core.intake.worker, 0
    real_apply = worker.applier.apply

    def apply_then_die(ev):
        nonlocal applied
        applied += 1
        if applied == 40:
            raise Crash
        return real_apply(ev)

    worker.applier.apply = apply_then_die
    with pytest.raises(Crash):
        worker.turn([], [])
    # Dead mid-batch: its transaction never committed, so neither its effects nor its
    # rows' "applied" marks exist; every recorded event still waits.
    assert snapshot(core, round_id) == untouched
    assert core.store.inbox_pending() == len(distinct)

    restarted = build_core(core.store, core.settings, core.clock)
    try:
        await restarted.settle()
        assert core.store.inbox_pending() == 0
        assert comparable(restarted, round_id) == await reference(tmp_path, events)
    finally:
        restarted.close()


async def test_crash_after_commit_applies_nothing_twice(core, tmp_path, monkeypatch):
    monkeypatch.setattr("bot.inbox.APPLY_SLICE", 3600.0)
    round_id, _ = await open_sample(core)
    events = mixed_events(5, 80)
    core.store.inbox_record([wire.inbox_row(ev, core.clock.now()) for ev in events])
    core.intake.worker.batch_size = 30
    core.intake.worker.turn([], [])  # one batch applied and committed, then the process dies
    after_one = comparable(core, round_id)
    restarted = build_core(core.store, core.settings, core.clock)
    try:
        await restarted.settle()
        assert comparable(restarted, round_id) == await reference(tmp_path, events)
        assert after_one != comparable(restarted, round_id)  # the rest came after the restart
    finally:
        restarted.close()


@pytest.mark.parametrize("key", ["slack:EvDup", None])
async def test_duplicate_delivery_is_one_row_applied_once(core, key):
    round_id, _ = await open_sample(core)
    posted = ReplyPosted(platform="discord", workspace_id="g1", channel_id="1000",
                         occurred_at=START, actor=Actor("u1"), message_id="7000",
                         thread_id="1000", text="Oui", event_key=key)
    first, again = await core.intake.capture(posted), await core.intake.capture(posted)
    assert first is not None and again is None
    # Two deliveries racing into one turn: one row, the second recognised as its retry.
    clash = ReactionAdded(**CH, occurred_at=START, actor=Actor("u2"), message_id="1000",
                          emoji=Emoji("👍"), event_key="slack:EvRace")
    ids = await asyncio.gather(core.intake.capture(clash), core.intake.capture(clash))
    assert ids[0] is not None and ids[1] is None
    await core.settle()
    assert not await core.handle(posted)
    counts = snapshot(core, round_id)[0]
    assert counts[0][2] == 1
    assert [c[1] for c in counts if c[0] == "reply"] == ["Oui"]


@contextmanager
def store_locked(core, database_url):
    """Another connection holds the store's write lock; the core's connections give up
    after 50 ms (SQLite busy timeout, PostgreSQL lock_timeout) instead of seconds."""
    engine = core.store.engine

    def short_wait(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=50" if engine.dialect.name == "sqlite"
                    else "SET lock_timeout = '50ms'")
        cur.close()
        if engine.dialect.name != "sqlite":
            dbapi_conn.commit()  # SET is transactional: kept only once committed

    sa_event.listen(engine, "connect", short_wait)
    engine.dispose()
    if engine.dialect.name == "sqlite":
        holder = sqlite3.connect(engine.url.database, isolation_level=None,
                                 check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        holder = engine.raw_connection()
        cur = holder.cursor()
        cur.execute("LOCK TABLE inbox, inbox_partitions IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        holder.rollback() if engine.dialect.name != "sqlite" else holder.execute("ROLLBACK")
        holder.close()


def react(n: int) -> ReactionAdded:
    return ReactionAdded(**CH, occurred_at=START + timedelta(seconds=n), actor=Actor(f"u{n}"),
                         message_id="1000", emoji=Emoji("👍"), event_key=f"slack:EvJ{n}")


async def test_journal_takes_events_while_the_store_is_locked_then_drains(
        core, database_url):
    round_id, _ = await open_sample(core)
    core.intake.worker.backoff = 0.0
    journal = core.intake.worker.journal
    with store_locked(core, database_url):
        for n in range(5):
            assert await core.intake.capture(react(n)) is None  # kept, in the journal
        assert journal.rows() and len(journal.rows()) == 5
        assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
        assert journal.path.name == FILE_NAME and journal.path.parent == core.settings.data_dir
    await core.intake.capture(react(5))  # the store is back: the journal goes first
    await core.settle()
    assert journal.size() == 0
    assert snapshot(core, round_id)[0][0][2] == 6
    # A retry of a journalled event, after the drain, is recognised.
    assert not await core.handle(react(2))


async def test_full_journal_stops_acknowledging_and_reconciles_when_back(
        core, database_url, monkeypatch):
    await open_sample(core)
    worker = core.intake.worker
    worker.backoff = 0.0
    worker.journal.max_bytes = 700  # room for about two events
    reconciled = threading.Event()
    platform = RecordingPlatform()
    core.attach(platform)

    async def reconcile(p):
        reconciled.set()

    monkeypatch.setattr(core.reconciler, "run", reconcile)
    kept, refused = 0, 0
    with store_locked(core, database_url):
        for n in range(6):
            try:
                await core.intake.capture(react(n))
                kept += 1
            except JournalFull:
                refused += 1
    assert kept >= 1 and refused >= 1
    await core.intake.capture(react(99))
    await core.settle()
    await core.intake._gap_task
    assert reconciled.is_set()
    assert core.intake.worker.journal.size() == 0


async def test_applied_rows_are_pruned_after_keep(core):
    await open_sample(core)
    core.intake.worker.keep = timedelta(days=1)
    old = await core.intake.capture(react(1))
    await core.settle()
    core.clock.advance(timedelta(days=1) + PRUNE_EVERY)
    late = await core.intake.capture(react(2))
    await core.settle()
    assert core.store.inbox_outcomes([old, late]) == {late: "changed"}
    waiting = core.store.inbox_record([wire.inbox_row(react(3), core.clock.now())])
    core.clock.advance(timedelta(days=30))
    assert core.store.inbox_prune(core.clock.now()) == 1  # pending rows are never pruned
    assert core.store.inbox_outcomes(waiting) == {waiting[0]: None}


def wrongly_typed(kind: str) -> ReactionAdded | ReplyPosted:
    """An event whose field has a type no adapter should let through: a reply whose
    channel id is a list, or a reaction whose message id is an integer."""
    if kind == "channel list":
        return ReplyPosted(platform="discord", workspace_id="g1", channel_id=["1000"],
                           occurred_at=START, actor=Actor("u0"), message_id="5000",
                           thread_id="1000", text="t", event_key="slack:EvBad")
    return ReactionAdded(**CH, occurred_at=START, actor=Actor("u0"), message_id=17,
                         emoji=Emoji("👍"), event_key="slack:EvBad")


@pytest.mark.parametrize("kind", ["channel list", "message int"])
async def test_an_event_of_a_wrong_type_is_skipped_not_holding_the_inbox(core, kind, caplog):
    """A value the database cannot bind (SQLite: a list) or compare (PostgreSQL: an integer
    against a varchar) raises a ProgrammingError: that row is skipped, the store is not
    taken for down, and the events after it are applied in the same settle. (SQLite
    compares an integer with text without complaint, so that reaction matches no message;
    PostgreSQL stores a list as an array literal: the adapters' checks keep both out.)"""
    outcome = {("sqlite", "channel list"): "skipped", ("sqlite", "message int"): "unchanged",
               ("postgresql", "channel list"): "changed",
               ("postgresql", "message int"): "skipped"}[core.store.engine.dialect.name, kind]
    refused = outcome == "skipped"
    round_id, _ = await open_sample(core)
    (bad_id,) = core.store.inbox_record([wire.inbox_row(wrongly_typed(kind), core.clock.now())])
    await core.capture(react(1))
    await core.capture(react(2))
    await asyncio.wait_for(core.settle(), 10)
    assert core.store.inbox_pending() == 0
    assert core.store.inbox_outcomes([bad_id]) == {bad_id: outcome}
    assert snapshot(core, round_id)[0][0][2] == 2
    assert core.intake.worker._store_usable()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert not any("store unavailable" in m for m in warnings)
    assert any(m.startswith("skipped a malformed event") for m in warnings) == refused
    assert not any("u0" in m or "1000" in m for m in warnings)
