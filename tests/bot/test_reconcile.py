"""Reconciliation against a recording platform: missed replies and reactions are backfilled,
vanished reactions withdrawn, and a second pass changes nothing."""

from __future__ import annotations

import itertools

from bot.events import Actor, Emoji, ReactionAdded, ReplyPosted
from bot.platform import ChannelRef, ReactionState
from tests.helpers import START, RecordingPlatform, invitation, make_core

CHANNEL = ChannelRef("discord", "g1", "c1")


def counts(core, round_id):
    return [(c.kind, c.agree, c.disagree, c.passes)
            for c in core.store.statement_counts(round_id)]


async def test_reconcile_backfills_and_withdraws_idempotently(tmp_path):
    core = make_core(tmp_path)
    platform = RecordingPlatform()
    round_id, _, _ = await core.rounds.open(plan="sample", channel=CHANNEL, platform=platform)
    # Live: u1 agrees with section 1 (message 1000); the bot's own seed reaction is there too.
    await core.handle(ReactionAdded(platform="discord", workspace_id="g1", channel_id="c1",
                                  occurred_at=START, actor=Actor("u1"), message_id="1000",
                                  emoji=Emoji("👍")))
    # While the bot was away: u1 removed 👍, u2 put 👎, u3 replied in thread 1001 and u4
    # agreed with that reply.
    platform.reactions["1000"] = [ReactionState(Emoji("👍"), ("bot",), ("bot",)),
                                  ReactionState(Emoji("👎"), ("u2",))]
    platform.replies["1001"] = [ReplyPosted(
        platform="discord", workspace_id="g1", channel_id="1001", occurred_at=START,
        backfill=True, actor=Actor("u3"), message_id="7000", thread_id="1001",
        text="Et les régions éloignées ?")]
    platform.reactions["7000"] = [ReactionState(Emoji("👍🏾"), ("u4",))]

    report = await core.reconcile(platform)
    assert (report.replies_added, report.reactions_added, report.reactions_removed) == (1, 2, 1)
    after = counts(core, round_id)
    assert after[0] == ("section", 0, 1, 0)
    assert after[-1] == ("reply", 1, 0, 0)

    again = await core.reconcile(platform)
    assert (again.replies_added, again.reactions_added, again.reactions_removed) == (0, 0, 0)
    assert counts(core, round_id) == after
    core.close()


async def test_live_reaction_during_reconciliation_is_not_withdrawn(tmp_path):
    core = make_core(tmp_path)
    platform = RecordingPlatform()
    round_id, _, _ = await core.rounds.open(plan="sample", channel=CHANNEL, platform=platform)
    original = platform.fetch_reactions

    async def fetch_while_a_live_event_lands(channel, message_id):
        if message_id == "1003":
            await core.handle(ReactionAdded(platform="discord", workspace_id="g1",
                                          channel_id="c1", occurred_at=START,
                                          actor=Actor("u9"), message_id="1000",
                                          emoji=Emoji("👍")))
        return await original(channel, message_id)

    platform.fetch_reactions = fetch_while_a_live_event_lands
    report = await core.reconcile(platform)
    assert report.reactions_removed == 0
    assert counts(core, round_id)[0] == ("section", 1, 0, 0)
    core.close()


async def test_replies_edited_or_deleted_while_away_are_caught_up(tmp_path):
    core = make_core(tmp_path)
    platform = RecordingPlatform()
    round_id, _, _ = await core.rounds.open(plan="sample", channel=CHANNEL, platform=platform)

    def reply(mid, text):
        return ReplyPosted(platform="discord", workspace_id="g1", channel_id="1001",
                           occurred_at=START, actor=Actor("u3"), message_id=mid,
                           thread_id="1001", text=text)

    for mid, text in (("7000", "Avant"), ("7001", "Supprimée"), ("7002", "Inchangée")):
        await core.handle(reply(mid, text))
    platform.replies["1001"] = [reply("7000", "Après"), reply("7002", "Inchangée")]

    report = await core.reconcile(platform)
    assert (report.replies_added, report.replies_edited, report.replies_deleted) == (0, 1, 1)
    texts = [c.text for c in core.store.statement_counts(round_id)
             if c.kind == "reply" and c.deleted_at is None]
    assert texts == ["Après", "Inchangée"]
    again = await core.reconcile(platform)
    assert (again.replies_added, again.replies_edited, again.replies_deleted) == (0, 0, 0)
    core.close()


async def test_a_reply_is_copied_to_the_rounds_other_channels_once(tmp_path):
    from bot.platform import ChannelRef as Ref

    core = make_core(tmp_path)
    discord = RecordingPlatform()
    slack = RecordingPlatform(name="slack", _ids=itertools.count(5000))
    core.platforms.update(discord=discord, slack=slack)
    round_id, _, _ = await core.rounds.open(plan="sample", channel=CHANNEL, platform=discord)
    await core.rounds.open(plan="sample", channel=Ref("slack", "T1", "C1"), platform=slack,
                           join=invitation(core, round_id))
    reply = ReplyPosted(platform="discord", workspace_id="g1", channel_id="1001",
                        occurred_at=START, actor=Actor("u3"), message_id="7000",
                        thread_id="1001", text="Et les régions éloignées ? @everyone")
    assert await core.handle(reply)
    assert not await core.handle(reply)
    await core.settle_relays()
    ((channel, thread, text),) = slack.copies
    assert channel == Ref("slack", "T1", "C1") and thread == "5001"  # the same section
    assert text == "💬 un·e participant·e sur Discord : Et les régions éloignées ? @everyone"
    assert discord.copies == []
    # A stance on the Slack copy counts for the same statement.
    copy_id = core.store.statement_messages(
        core.store.find_message("discord", "1001", "7000").statement_id)[-1].message_id
    assert await core.handle(ReactionAdded(platform="slack", workspace_id="T1", channel_id="C1",
                                         occurred_at=START, actor=Actor("U9"),
                                         message_id=copy_id, emoji=Emoji("+1")))
    replies = [c for c in core.store.statement_counts(round_id) if c.kind == "reply"]
    assert [(r.agree, r.platform) for r in replies] == [(1, "discord")]
    core.close()
