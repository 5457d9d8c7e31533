"""A copy never outlives its reply (``bot.relay``, ``storage.copies``), on SQLite and
PostgreSQL: a reply erased (by another core on the same store, as another process would),
deleted by its author, while a copy's post or edit is held by the platform; the copy is
deleted as soon as it is recorded, no further copy is started, and a copy left up is
deleted by the next round-wide pass."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest

from bot.clock import ManualClock
from bot.core import Core
from bot.events import Actor, ReplyDeleted, ReplyEdited, ReplyPosted
from bot.platform import ChannelRef
from bot.service.build import build_core
from tests.helpers import START, RecordingPlatform, invitation, make_core, make_store

D1 = ChannelRef("discord", "g1", "c1")
D2 = ChannelRef("discord", "g1", "c2")
S1 = ChannelRef("slack", "T1", "C1")
REACHED = 5.0
"""Seconds at most for the relay to reach the held call (a bound, not a wait)."""


@dataclass
class Held(RecordingPlatform):
    """A platform whose first ``holding`` call (``post_copy`` or ``edit_copy``) waits until
    :meth:`release`, as under a platform's rate limits; it is carried out after."""

    holding: str = "post_copy"
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    posted: list[str] = field(default_factory=list)
    """Ids of the copies posted, in order."""

    def release(self) -> None:
        self.released.set()

    async def _hold(self, call: str) -> None:
        if call == self.holding and not self.released.is_set():
            self.reached.set()
            await self.released.wait()

    async def post_copy(self, channel, thread_id, text, vote_on=None):
        await self._hold("post_copy")
        copy = await super().post_copy(channel, thread_id, text, vote_on)
        self.posted.append(copy.message_id)
        return copy

    async def edit_copy(self, channel, message_id, text):
        await self._hold("edit_copy")
        await super().edit_copy(channel, message_id, text)


def reply(mid: str, text: str) -> ReplyPosted:
    return ReplyPosted(platform="discord", workspace_id="g1", channel_id="1000",
                       occurred_at=START, actor=Actor("u1", "Ana"), message_id=mid,
                       thread_id="1000", text=text)


async def erase_elsewhere(core: Core, url: str):
    """Erase u1 from another core on the same store, connected to no platform: it shares
    nothing with ``core`` but the database."""
    other = build_core(make_store(url), core.settings, core.clock)
    try:
        return await other.privacy.erase("discord", "u1", "cli")
    finally:
        other.close()


@pytest.fixture
async def three(tmp_path, database_url):
    """A round in Discord's c1, joined by Slack's C1 (whose copies are held) and Discord's
    c2: a reply in c1 is copied to Slack first, then to c2."""
    core = make_core(tmp_path, database_url=database_url, clock=ManualClock(START))
    discord, slack = RecordingPlatform(), Held("slack", _ids=itertools.count(5000))
    core.platforms.update(discord=discord, slack=slack)
    round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=discord)
    await core.rounds.open(plan="sample", channel=S1, platform=slack,
                           join=invitation(core, round_id))
    await core.rounds.open(plan="sample", channel=D2, platform=discord,
                           join=invitation(core, round_id))
    await core.settle()
    yield core, database_url, discord, slack
    core.close()


def live_copies(core: Core, mid: str) -> list:
    return core.store.copies_of(core.store.find_message("discord", "1000", mid).statement_id
                                ).copies


async def test_erased_while_its_copy_is_posted(three):
    """The erasure (elsewhere) finds no copy recorded; the held Slack copy is deleted when
    Slack answers, and the copy to c2, not started yet, is never posted."""
    core, url, discord, slack = three
    await core.handle(reply("7001", "Zq7 erased in flight"))
    await asyncio.wait_for(slack.reached.wait(), REACHED)
    report = await erase_elsewhere(core, url)
    assert (report.found, report.copies_deleted, report.copies_left) == (True, 0, [])
    slack.release()
    await core.settle()

    ((_, _, text),) = slack.copies  # posted after the erasure...
    assert "Zq7" in text
    assert slack.deleted == [(S1, slack.posted[0])]  # ...and deleted at once
    assert discord.copies == []  # never started
    assert live_copies(core, "7001") == []  # recorded deleted
    assert [m.message_id for m in core.store.statement_messages(
        core.store.find_message("discord", "1000", "7001").statement_id)] == \
        ["7001", slack.posted[0]]


async def test_deleted_by_its_author_while_its_copy_is_posted(three):
    core, _url, discord, slack = three
    await core.handle(reply("7001", "Gone soon"))
    await asyncio.wait_for(slack.reached.wait(), REACHED)
    copying = set(core.relay._tasks)
    assert await core.handle(ReplyDeleted(platform="discord", workspace_id="g1",
                                          channel_id="1000", occurred_at=START,
                                          message_id="7001"))
    # The deletion's own pass, done while the copy is held, finds no copy recorded yet.
    await asyncio.gather(*(core.relay._tasks - copying))
    slack.release()
    await core.settle()
    assert slack.deleted == [(S1, slack.posted[0])] and discord.copies == []
    assert live_copies(core, "7001") == []


async def test_erased_while_a_copy_is_edited(three):
    """The erasure, where Slack is not connected, leaves the Slack copy (reported); the
    edit under way there then finds the reply erased and deletes the copy."""
    core, url, discord, slack = three
    slack.holding = "edit_copy"
    await core.handle(reply("7001", "First words"))
    await core.settle()
    to_slack, to_c2 = live_copies(core, "7001")
    await core.handle(ReplyEdited(platform="discord", workspace_id="g1", channel_id="1000",
                                  occurred_at=START, message_id="7001", text="Later words"))
    await asyncio.wait_for(slack.reached.wait(), REACHED)
    report = await erase_elsewhere(core, url)
    assert report.copies_left == [to_slack, to_c2]
    slack.release()
    await core.settle()
    assert slack.deleted == [(S1, to_slack.message_id)]
    assert discord.deleted == [(D2, to_c2.message_id)]
    assert discord.edited == []  # c2's copy was not edited: its reply was gone by then
    assert live_copies(core, "7001") == []


async def test_a_copy_left_up_is_deleted_by_the_next_reconciliation(three):
    core, _url, _discord, slack = three
    slack.release()
    await core.handle(reply("7001", "Mine to erase"))
    await core.settle()
    del core.platforms["slack"]  # away: the erasure cannot delete its copy
    report = await core.privacy.erase("discord", "u1", "chat")
    assert [c.platform for c in report.copies_left] == ["slack"]
    await core.reconcile(slack)
    assert slack.deleted == [(S1, slack.posted[0])]
    assert live_copies(core, "7001") == []
