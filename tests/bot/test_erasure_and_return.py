"""An erased participant's events after their erasure, on SQLite and PostgreSQL: erased by
another process that shares the store (``planbot privacy erase`` beside ``planbot run``, or
two ``planbot run``), a re-delivery of what they did before, a new reply read back by
reconciliation (``bot.apply``, ``storage.privacy``; issue 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.events import Actor, ReplyPosted
from bot.platform import ChannelRef
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
