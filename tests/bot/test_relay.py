"""Copies of replies across a round's channels: made once, for everyone, never mistaken for
the author's own message, and made later when they could not be made at once."""

from __future__ import annotations

import itertools

from bot.events import Actor, ReplyDeleted, ReplyPosted
from bot.platform import ChannelRef
from tests.helpers import START, RecordingPlatform, invitation, make_core

D1 = ChannelRef("discord", "g1", "c1")
D2 = ChannelRef("discord", "g1", "c2")
S1 = ChannelRef("slack", "T1", "C1")


def reply(thread: str, mid: str, text: str) -> ReplyPosted:
    return ReplyPosted(platform="discord", workspace_id="g1", channel_id=thread,
                       occurred_at=START, actor=Actor("u3"), message_id=mid,
                       thread_id=thread, text=text)


def live_replies(core, round_id):
    return [(c.text, c.deleted_at is not None) for c in core.store.statement_counts(round_id)
            if c.kind == "reply"]


class HistoryPlatform(RecordingPlatform):
    """Returns its own copies in thread history, as Discord does for the bot's messages."""

    async def fetch_replies(self, channel, thread_id, after_message_id):
        own = [ReplyPosted(platform=self.name, workspace_id=c.workspace_id,
                           channel_id=thread, occurred_at=START,
                           actor=Actor("planbot", is_bot=True), message_id=mid,
                           thread_id=thread, text=text)
               for (c, thread, text), mid in zip(self.copies, self.copy_ids, strict=False) if thread == thread_id]
        return await super().fetch_replies(channel, thread_id, after_message_id) + own

    async def post_copy(self, channel, thread_id, text, vote_on=None):
        posted = await super().post_copy(channel, thread_id, text)
        self.copy_ids.append(posted.message_id)
        return posted

    copy_ids: list


async def test_two_channels_of_one_platform_reconcile_without_touching_the_reply(tmp_path):
    core = make_core(tmp_path)
    discord = HistoryPlatform()
    discord.copy_ids = []
    core.attach(discord)
    round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=discord)
    await core.rounds.open(plan="sample", channel=D2, platform=discord)
    await core.handle(reply("1000", "7000", "La fibre d’abord"))
    await core.settle_relays()
    ((channel, thread, _),) = discord.copies
    assert channel == D2 and thread == "1008"
    discord.replies["1000"] = [reply("1000", "7000", "La fibre d’abord")]
    report = await core.reconcile(discord)
    assert (report.replies_edited, report.replies_deleted, report.copies_posted) == (0, 0, 0)
    assert live_replies(core, round_id) == [("La fibre d’abord", False)]
    core.close()


async def test_deleting_a_copy_leaves_the_authors_reply(tmp_path):
    core = make_core(tmp_path)
    discord, slack = RecordingPlatform(), RecordingPlatform("slack", _ids=itertools.count(5000))
    core.platforms.update(discord=discord, slack=slack)
    round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=discord)
    await core.rounds.open(plan="sample", channel=S1, platform=slack,
                           join=invitation(core, round_id))
    await core.handle(reply("1000", "7000", "Mine"))
    await core.settle_relays()
    copy = core.store.statement_messages(core.store.find_message("discord", "1000", "7000")
                                       .statement_id)[-1]
    assert await core.handle(ReplyDeleted(platform="slack", workspace_id="T1",
                                        channel_id=copy.channel_id, occurred_at=START,
                                        message_id=copy.message_id))
    assert live_replies(core, round_id) == [("Mine", False)]
    core.close()


async def test_copies_missed_or_owed_are_made_later_once(tmp_path):
    core = make_core(tmp_path)
    discord = RecordingPlatform()
    core.attach(discord)
    _round_id, _, _ = await core.rounds.open(plan="sample", channel=D1, platform=discord)
    await core.handle(reply("1000", "7000", "Avant Slack"))
    await core.settle_relays()

    class Down(RecordingPlatform):
        async def post_copy(self, channel, thread_id, text, vote_on=None):
            raise ConnectionError("Slack is down")

    down = Down("slack", _ids=itertools.count(5000))
    core.attach(down)
    await core.rounds.open(plan="sample", channel=S1, platform=down,  # owed: the earlier reply
                           join=invitation(core, _round_id))
    await core.settle_relays()
    assert down.copies == []
    back = RecordingPlatform("slack", _ids=itertools.count(6000))
    core.attach(back)
    report = await core.reconcile(back)
    assert report.copies_posted == 1
    assert [t for _, _, t in back.copies] == ["💬 un·e participant·e sur Discord : Avant Slack"]
    assert (await core.reconcile(back)).copies_posted == 0
    core.close()
