"""An erased participant's events after their erasure, on SQLite and PostgreSQL: erased by
another process that shares the store (``planbot privacy erase`` beside ``planbot run``, or
two ``planbot run``), a re-delivery of what they did before, a new reply read back by
reconciliation (``bot.apply``, ``storage.privacy``; issue 10); their events still waiting
in the inbox, or being applied by another process, when they are erased (issue 12)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import text

from bot.commands import forget_me
from bot.events import Actor, CommandInvoked, ReplyPosted
from bot.platform import ChannelRef
from storage.inbox import ERASED
from tests.bot.test_events_once import react, reply
from tests.helpers import START, RecordingPlatform, make_core


@pytest.fixture
async def two_processes(tmp_path, database_url):
    """Two cores on one store: ``service`` has a round open; ``other`` is a second process
    (the operator's ``planbot privacy erase``, or another ``planbot run``)."""
    service = make_core(tmp_path / "service", database_url=database_url)
    other = make_core(tmp_path / "other", database_url=database_url)
    platform = RecordingPlatform()
    service.attach(platform)
    round_id, _, _ = await service.rounds.open(plan="sample", platform=platform,
                                               channel=ChannelRef("discord", "g1", "c1"))
    sections = [m.message_id for m in service.store.round_messages(round_id, "discord")
                if m.part == 0]
    yield service, other, sections
    for core in (service, other):
        core.close()
        core.store.engine.dispose()


async def test_an_erasure_by_another_process_mixes_no_two_people(two_processes):
    """The service holds xavier's id when another process erases him; yann comes for the
    first time (SQLite handed him xavier's freed id), then xavier comes back: each person's
    stance is theirs, and xavier's is recorded, not lost on his erased id."""
    service, other, sections = two_processes
    assert await service.handle(react("xavier", msg=sections[0]))
    assert (await other.privacy.erase("discord", "xavier", "cli")).found
    assert await service.handle(react("yann", msg=sections[1], at=START + timedelta(minutes=5)))
    assert await service.handle(react("xavier", msg=sections[2], emoji="👎",
                                      at=START + timedelta(minutes=6)))
    yann = await service.privacy.export("discord", "yann", "cli")
    xavier = await service.privacy.export("discord", "xavier", "cli")
    assert yann is not None and xavier is not None
    assert [s.stance for s in yann.stances] == ["agree"]
    assert [s.stance for s in xavier.stances] == ["disagree"]
    assert xavier.participant_id != yann.participant_id


async def test_a_participant_erased_elsewhere_and_back_is_recorded_by_each_process(
        two_processes):
    """Both processes had seen xavier; one serves his forget-me; his next stance through the
    other is recorded once, as a new participation, and his reply too."""
    service, other, sections = two_processes
    assert await other.handle(react("xavier", msg=sections[0]))
    assert await service.handle(react("xavier", msg=sections[1]))
    assert (await service.privacy.erase("discord", "xavier", "chat")).found
    later = START + timedelta(hours=1)
    assert await other.handle(react("xavier", msg=sections[0], emoji="👎", at=later))
    assert await other.handle(reply("xavier", "5000", thread=sections[0], at=later))
    xavier = await service.privacy.export("discord", "xavier", "chat")
    assert xavier is not None
    assert [s.stance for s in xavier.stances] == ["disagree"]
    assert len(xavier.replies) == 1


async def test_a_retry_after_forget_me_records_the_person_no_more(two_processes):
    """Slack re-delivers a reaction and a reply (same event ids) after their author erased
    themselves: nothing comes back, not even their participant record."""
    service, _other, sections = two_processes
    assert await service.handle(react("dora", msg=sections[0], key="slack:EvR1"))
    assert await service.handle(reply("dora", "2000", "Mon avis", thread=sections[0],
                                      key="slack:EvM1"))
    assert (await service.privacy.erase("discord", "dora", "chat")).found
    assert not await service.handle(react("dora", msg=sections[0], key="slack:EvR1"))
    assert not await service.handle(reply("dora", "2000", "Mon avis", thread=sections[0],
                                          key="slack:EvM1"))
    assert await service.privacy.export("discord", "dora", "chat") is None


async def test_a_reply_written_after_forget_me_while_planbot_was_down_is_recorded(
        two_processes):
    """Reconciliation reads back the erased person's messages: what they wrote before the
    erasure stays refused, a reply dated after it is a new participation."""
    service, _other, sections = two_processes
    thread = sections[0]
    assert await service.handle(reply("carol", "2000", "Avant l'oubli", thread=thread))
    assert (await service.privacy.erase("discord", "carol", "chat")).found
    service.clock.advance(timedelta(days=1))

    def read_back(message_id: str, text: str, at) -> ReplyPosted:
        return ReplyPosted(platform="discord", workspace_id="g1", channel_id=thread,
                           occurred_at=at, backfill=True, actor=Actor("carol"),
                           message_id=message_id, thread_id=thread, text=text)

    assert not await service.handle(read_back("2500", "Écrit avant l'oubli", START))
    assert await service.handle(read_back("3000", "Je reviens", service.clock.now()))
    carol = await service.privacy.export("discord", "carol", "chat")
    assert carol is not None and [r.text for r in carol.replies] == ["Je reviens"]


@pytest.fixture
def capture_only(monkeypatch):
    """Captured events are recorded and wait in the inbox until a test settles: the intake's
    pause before applying (``CAPTURE_FIRST``) and its overdue rule never end meanwhile."""
    monkeypatch.setattr("bot.intake.CAPTURE_FIRST", 3600.0)
    monkeypatch.setattr("bot.intake.APPLY_AT_LEAST_EVERY", 3600.0)


def held_about(core, user: str, secret: str) -> tuple[int, int, int]:
    """(participants, statements holding ``secret``, inbox payloads naming ``user``): what
    the store still says of someone, read in SQL, not through the code under test."""
    key = core.pseudonyms.key("discord", user)
    with core.store.engine.connect() as c:
        return (c.execute(text("SELECT count(*) FROM participants WHERE key_hash = :k"),
                          {"k": key}).scalar_one(),
                c.execute(text("SELECT count(*) FROM statements WHERE text = :t"),
                          {"t": secret}).scalar_one(),
                c.execute(text("SELECT count(*) FROM inbox WHERE payload LIKE :u"),
                          {"u": f'%"{user}"%'}).scalar_one())


@pytest.mark.parametrize("eraser", ["service", "other"])
async def test_events_waiting_in_the_inbox_are_erased_with_their_author(
        two_processes, capture_only, eraser):
    """Dora's stance and reply are recorded (acknowledged) but not applied when she is
    erased, through the process that captured them (/forget-me) or another one (``planbot
    privacy erase``): they are discarded, never applied after; Ella's event in the same
    channel is applied; a stance Dora gives after the erasure is a new participation."""
    service, other, sections = two_processes
    secret = "Mon avis, à effacer"
    ids = [await service.intake.capture(react("dora", msg=sections[0])),
           await service.intake.capture(reply("dora", "2000", secret, thread=sections[0])),
           await service.intake.capture(react("ella", msg=sections[0]))]
    assert all(ids) and set(service.store.inbox_outcomes(ids).values()) == {None}
    if eraser == "service":  # /forget-me, past the core's catch-up (a backlog outlasted it)
        code = service.privacy.confirm_code("discord", "dora")
        answer = await forget_me(service.commands, CommandInvoked(
            platform="discord", workspace_id="g1", channel_id="c1", occurred_at=START,
            actor=Actor("dora"), action="forget-me", args={"confirm": code}),
            RecordingPlatform(), "en")
        assert answer.text.startswith("Your data is erased: 0 replies, 0 stances;")
        assert "2 actions of yours that planbot had received but not yet recorded were " \
            "discarded too." in answer.text
    else:  # planbot privacy erase, in another process
        assert await other.privacy.pending("discord", "dora") == 2
        report = await other.privacy.erase("discord", "dora", "cli")
        assert report.found and (report.replies, report.stances, report.pending) == (0, 0, 2)
    await service.settle()
    assert service.store.inbox_outcomes(ids) == {ids[0]: ERASED, ids[1]: ERASED,
                                                 ids[2]: "changed"}
    assert held_about(service, "dora", secret) == (0, 0, 0)
    assert await service.privacy.export("discord", "dora", "cli") is None
    ella = await service.privacy.export("discord", "ella", "cli")
    assert ella is not None and [s.stance for s in ella.stances] == ["agree"]
    later = START + timedelta(hours=1)
    assert await service.handle(react("dora", msg=sections[1], emoji="👎", at=later))
    dora = await service.privacy.export("discord", "dora", "cli")
    assert dora is not None and [s.stance for s in dora.stances] == ["disagree"]


def _blocked_by(database_url: str, pid: int) -> bool:
    """Whether a PostgreSQL session waits for a lock the session ``pid`` holds."""
    with psycopg.connect(database_url.split("?")[0]) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE %s = ANY(pg_blocking_pids(pid))", (pid,)).fetchone()
        return bool(row and row[0])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_erasure_waits_for_the_batch_another_process_is_applying(
        two_processes, capture_only, database_url):
    """Another process holds an inbox batch, Dora's stance applied in it but not committed,
    when the service erases her: the erasure waits for that batch, then erases what it
    applied and discards her reply still waiting; nothing of hers is left either way."""
    service, other, sections = two_processes
    secret = "Écrit juste avant l'oubli"
    ids = [await service.intake.capture(react("dora", msg=sections[0])),
           await service.intake.capture(reply("dora", "2000", secret, thread=sections[0])),
           await service.intake.capture(react("ella", msg=sections[0]))]
    worker = other.intake.worker
    worker.batch_size = 1  # Dora's stance alone; her partitions all held with it
    holding, release, batch_pid = threading.Event(), threading.Event(), []
    real_apply = worker.applier.apply

    def apply_and_hold(event):
        changed = real_apply(event)
        if not holding.is_set():
            with other.store._conn() as conn:  # the batch's own connection
                batch_pid.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
            holding.set()
            assert release.wait(60), "the test never released the batch"
        return changed

    worker.applier.apply = apply_and_hold
    applier = threading.Thread(target=worker.turn, args=([], []))
    applier.start()
    try:
        assert await asyncio.to_thread(holding.wait, 60)
        erasing = asyncio.ensure_future(service.privacy.erase("discord", "dora", "chat"))
        deadline = time.monotonic() + 60
        while not erasing.done() and not await asyncio.to_thread(
                _blocked_by, database_url, batch_pid[0]):
            assert time.monotonic() < deadline, "the erasure neither waited nor ended"
            await asyncio.sleep(0)
    finally:
        release.set()
        await asyncio.to_thread(applier.join)
    report = await erasing
    assert report.found and (report.replies, report.stances, report.pending) == (0, 1, 1)
    await service.settle()
    assert service.store.inbox_outcomes(ids) == {ids[0]: "changed", ids[1]: ERASED,
                                                 ids[2]: "changed"}
    assert held_about(service, "dora", secret) == (0, 0, 0)
    assert await service.privacy.export("discord", "dora", "cli") is None
