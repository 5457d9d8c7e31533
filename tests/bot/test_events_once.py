"""Exactly-once application of every neutral event kind, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.events import (
    Actor,
    Emoji,
    ReactionAdded,
    ReactionRemoved,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from tests.helpers import START, RecordingPlatform, make_planbot

CH = dict(platform="discord", workspace_id="g1", channel_id="c1")


async def open_sample(pb):
    platform = RecordingPlatform()
    round_id, posted, _ = await pb.open_round(plan="sample", platform=platform,
                                              channel=_channel())
    assert posted == 8
    return round_id, platform


def _channel():
    from bot.platform import ChannelRef

    return ChannelRef("discord", "g1", "c1")


def react(user, msg="1000", emoji="👍", at=START, key=None, **kw):
    return ReactionAdded(**{**CH, **kw}, occurred_at=at, event_key=key, actor=Actor(user),
                         message_id=msg, emoji=Emoji(emoji))


def unreact(user, msg="1000", emoji="👍", at=START, key=None):
    return ReactionRemoved(**CH, occurred_at=at, event_key=key, actor=Actor(user),
                           message_id=msg, emoji=Emoji(emoji))


def reply(user, mid, text="Bonne idée", thread="1000", at=START, key=None):
    return ReplyPosted(platform="discord", workspace_id="g1", channel_id=thread,
                       occurred_at=at, event_key=key, actor=Actor(user), message_id=mid,
                       thread_id=thread, text=text)


def snapshot(pb, round_id):
    """Everything a digest or analysis reads: counts per statement, people, texts."""
    counts = pb.store.statement_counts(round_id)
    return ([(c.kind, c.text, c.agree, c.disagree, c.passes,
              c.deleted_at is not None) for c in counts],
            pb.store.participation(round_id), pb.store.vote_triples(round_id))


@pytest.fixture
async def pb(tmp_path, database_url):
    bot = make_planbot(tmp_path, database_url=database_url)
    yield bot
    bot.close()
    bot.store.engine.dispose()


@pytest.mark.parametrize("key", [None, "slack:Ev1"])
async def test_reaction_added_twice(pb, key):
    round_id, _ = await open_sample(pb)
    assert await pb.handle(react("u1", key=key))
    before = snapshot(pb, round_id)
    assert not await pb.handle(react("u1", key=key))
    assert snapshot(pb, round_id) == before
    assert before[0][0][2] == 1


@pytest.mark.parametrize("key", [None, "slack:Ev2"])
async def test_reaction_removed_twice(pb, key):
    round_id, _ = await open_sample(pb)
    await pb.handle(react("u1"))
    assert await pb.handle(unreact("u1", key=key, at=START + timedelta(seconds=1)))
    before = snapshot(pb, round_id)
    assert not await pb.handle(unreact("u1", key=key, at=START + timedelta(seconds=1)))
    assert snapshot(pb, round_id) == before
    assert before[0][0][2:5] == (0, 0, 0)


async def test_stale_retry_of_an_add_after_its_removal_is_ignored(pb):
    """Slack re-delivers an add five minutes after a remove: its event id was recorded."""
    round_id, _ = await open_sample(pb)
    await pb.handle(react("u1", key="slack:EvAdd"))
    await pb.handle(unreact("u1", key="slack:EvDel", at=START + timedelta(seconds=5)))
    assert not await pb.handle(react("u1", key="slack:EvAdd", at=START + timedelta(minutes=5)))
    assert snapshot(pb, round_id)[0][0][2] == 0


async def test_reactions_cleared_twice(pb):
    round_id, _ = await open_sample(pb)
    for user in ("u1", "u2"):
        await pb.handle(react(user))
    await pb.handle(react("u3", emoji="👎"))
    clear_emoji = ReactionsCleared(**CH, occurred_at=START, message_id="1000", emoji=Emoji("👍"))
    assert await pb.handle(clear_emoji)
    assert not await pb.handle(clear_emoji)
    assert snapshot(pb, round_id)[0][0][2:5] == (0, 1, 0)
    clear_all = ReactionsCleared(**CH, occurred_at=START, message_id="1000")
    assert await pb.handle(clear_all)
    before = snapshot(pb, round_id)
    assert not await pb.handle(clear_all)
    assert snapshot(pb, round_id) == before
    assert before[0][0][2:5] == (0, 0, 0)


async def test_reply_posted_twice(pb):
    round_id, _ = await open_sample(pb)
    assert await pb.handle(reply("u1", "5000", "Cafe\u0301 pour tous"))
    before = snapshot(pb, round_id)
    assert not await pb.handle(reply("u1", "5000", "Cafe\u0301 pour tous"))
    assert snapshot(pb, round_id) == before
    replies = [c for c in before[0] if c[0] == "reply"]
    assert replies == [("reply", "Café pour tous", 0, 0, 0, False)]  # NFC-normalised


async def test_reply_edited_twice_keeps_history(pb):
    round_id, _ = await open_sample(pb)
    await pb.handle(reply("u1", "5000", "Premier jet"))
    edit = ReplyEdited(platform="discord", workspace_id="g1", channel_id="1000",
                       occurred_at=START + timedelta(minutes=1), message_id="5000",
                       text="Version revue")
    assert await pb.handle(edit)
    before = snapshot(pb, round_id)
    assert not await pb.handle(edit)
    assert snapshot(pb, round_id) == before
    from sqlalchemy import select

    from storage.models import StatementEdit

    with pb.store.engine.connect() as conn:
        history = conn.execute(select(StatementEdit.previous_text)).scalars().all()
    assert history == ["Premier jet"]


async def test_reply_deleted_twice(pb):
    round_id, _ = await open_sample(pb)
    await pb.handle(reply("u1", "5000"))
    await pb.handle(react("u2", msg="5000", emoji="👍", channel_id="1000"))
    delete = ReplyDeleted(platform="discord", workspace_id="g1", channel_id="1000",
                          occurred_at=START, message_id="5000")
    assert await pb.handle(delete)
    before = snapshot(pb, round_id)
    assert not await pb.handle(delete)
    assert snapshot(pb, round_id) == before
    assert before[1].total == 0  # neither the deleted reply's author nor its voter counts
    assert all(sid != "9" for _, sid, _ in before[2][0])


async def test_latest_reaction_wins_and_removal_falls_back(pb):
    round_id, _ = await open_sample(pb)
    await pb.handle(react("u1", emoji="👍"))
    await pb.handle(react("u1", emoji="👎", at=START + timedelta(seconds=1)))
    assert snapshot(pb, round_id)[0][0][2:5] == (0, 1, 0)
    await pb.handle(unreact("u1", emoji="👎", at=START + timedelta(seconds=2)))
    assert snapshot(pb, round_id)[0][0][2:5] == (1, 0, 0)
    await pb.handle(unreact("u1", emoji="👍", at=START + timedelta(seconds=3)))
    assert snapshot(pb, round_id)[0][0][2:5] == (0, 0, 0)


async def test_bots_unknown_messages_and_unmapped_emoji_count_for_nothing(pb):
    round_id, _ = await open_sample(pb)
    bot_event = ReactionAdded(**CH, occurred_at=START, actor=Actor("b1", is_bot=True),
                              message_id="1000", emoji=Emoji("👍"))
    assert not await pb.handle(bot_event)
    assert not await pb.handle(react("u1", msg="999999"))
    assert await pb.handle(react("u1", emoji="🎉"))  # kept raw...
    assert snapshot(pb, round_id)[0][0][2:5] == (0, 0, 0)  # ...counting for nothing
    assert await pb.handle(react("u2", emoji="👍🏿"))
    assert await pb.handle(react("u3", emoji="🤷\u200d♀\ufe0f"))
    assert snapshot(pb, round_id)[0][0][2:5] == (1, 0, 1)


async def test_closed_round_ignores_events(pb):
    round_id, _ = await open_sample(pb)
    pb.store.close_round(round_id, START)
    assert not await pb.handle(react("u1"))
    assert not await pb.handle(reply("u1", "5000"))


async def test_reaction_added_again_after_removal_counts_again(pb):
    round_id, _ = await open_sample(pb)
    await pb.handle(react("u1"))
    await pb.handle(unreact("u1", at=START + timedelta(seconds=1)))
    assert await pb.handle(react("u1", at=START + timedelta(seconds=2)))
    assert snapshot(pb, round_id)[0][0][2:5] == (1, 0, 0)


async def test_malformed_events_are_skipped_not_raised(pb):
    await open_sample(pb)
    naive = ReactionAdded(**CH, occurred_at=START.replace(tzinfo=None), actor=Actor("u1"),
                          message_id="1000", emoji=Emoji("👍"))
    assert not await pb.handle(naive)
    assert await pb.handle(reply("u1", "5001", "nul\x00 caractère \ud83d"))


async def test_non_utc_times_are_stored_as_the_same_instant(pb):
    from zoneinfo import ZoneInfo

    round_id, _ = await open_sample(pb)
    montreal = START.astimezone(ZoneInfo("America/Montreal"))
    assert await pb.handle(react("u1", at=montreal))
    (added_at, _), = pb.store.stance_activity(round_id)
    assert added_at == START


async def test_joining_an_open_round_refuses_another_language_or_date(pb):
    from bot.errors import Conflict
    from bot.platform import ChannelRef

    await pb.open_round(plan="sample", channel=_channel(), platform=RecordingPlatform(),
                        closes="7d")
    slack = RecordingPlatform(name="slack")
    for kwargs, msgid in (({"language": "en"}, "error.round_other_language"),
                          ({"closes": "1d"}, "error.round_other_closes")):
        with pytest.raises(Conflict) as err:
            await pb.open_round(plan="sample", channel=ChannelRef("slack", "T1", "C1"),
                                platform=slack, **kwargs)
        assert err.value.msgid == msgid
    assert slack.sections == []
    round_id, posted, _ = await pb.open_round(plan="sample", platform=slack,
                                              channel=ChannelRef("slack", "T1", "C1"))
    assert posted == 8 and len(pb.store.rounds()) == 1


async def test_two_opens_of_one_plan_at_once_make_one_round(pb):
    import asyncio

    from bot.platform import ChannelRef

    results = await asyncio.gather(
        pb.open_round(plan="sample", channel=_channel(), platform=RecordingPlatform()),
        pb.open_round(plan="sample", channel=ChannelRef("slack", "T1", "C1"),
                      platform=RecordingPlatform(name="slack")))
    assert len({r[0] for r in results}) == 1
    assert len(pb.store.rounds("open")) == 1


async def test_late_deliveries_do_not_undo_newer_state(pb):
    round_id, _ = await open_sample(pb)
    t = [START + timedelta(seconds=i) for i in range(4)]
    await pb.handle(react("u1", at=t[1]))
    await pb.handle(unreact("u1", at=t[2]))
    assert not await pb.handle(react("u1", at=t[1]))  # the first add, delivered again late
    assert not await pb.handle(unreact("u2", at=t[0]))
    await pb.handle(react("u2", at=t[3]))
    assert not await pb.handle(unreact("u2", at=t[0]))  # a removal older than the add
    assert snapshot(pb, round_id)[0][0][2:5] == (1, 0, 0)
    await pb.handle(reply("u1", "5000", "v1"))
    for i, text in ((2, "v2"), (3, "v3"), (2, "v2")):
        await pb.handle(ReplyEdited(platform="discord", workspace_id="g1", channel_id="1000",
                                    occurred_at=t[i], message_id="5000", text=text))
    assert [c[1] for c in snapshot(pb, round_id)[0] if c[0] == "reply"] == ["v3"]


async def test_a_removal_or_deletion_delivered_before_its_add_or_post_wins(pb):
    round_id, _ = await open_sample(pb)
    t1, t2 = START + timedelta(seconds=1), START + timedelta(seconds=2)
    assert not await pb.handle(unreact("u1", at=t2, key="slack:EvRemove"))
    assert not await pb.handle(react("u1", at=t1, key="slack:EvAdd"))  # Slack's late retry
    assert snapshot(pb, round_id)[0][0][2:5] == (0, 0, 0)
    assert await pb.handle(react("u1", at=START + timedelta(seconds=3)))  # a newer add counts
    assert snapshot(pb, round_id)[0][0][2:5] == (1, 0, 0)
    deleted = ReplyDeleted(platform="discord", workspace_id="g1", channel_id="1000",
                           occurred_at=t2, message_id="5000")
    assert not await pb.handle(deleted)
    assert not await pb.handle(reply("u2", "5000", "posted, then deleted", at=t1))
    assert [c for c in snapshot(pb, round_id)[0] if c[0] == "reply"] == []


async def test_a_message_without_text_is_not_a_statement(pb):
    round_id, _ = await open_sample(pb)
    assert not await pb.handle(reply("u1", "5000", "  "))
    assert [c for c in snapshot(pb, round_id)[0] if c[0] == "reply"] == []


async def test_an_empty_sections_list_is_refused(pb):
    from bot.events import CommandInvoked

    cmd = CommandInvoked(**CH, occurred_at=START, actor=Actor("f"), action="open",
                         args={"plan": "sample", "sections": ",, ,"}, locale="en",
                         roles=frozenset({"facilitator"}))
    platform = RecordingPlatform()
    answer = await pb.run_command(cmd, platform)
    assert answer.text.startswith("No section named") and platform.sections == []


async def test_sections_are_recorded_as_soon_as_sent(pb):
    """A process stopped while seeding reactions (a rate limit) has recorded the section,
    so opening again does not post it twice."""
    import itertools

    class StoppedAfterSending(RecordingPlatform):
        async def post_section(self, channel, section, on_posted=None):
            await super().post_section(channel, section, on_posted)
            raise ConnectionError("killed while adding reactions")

    with pytest.raises(ConnectionError):
        await pb.open_round(plan="sample", channel=_channel(), platform=StoppedAfterSending())
    again = RecordingPlatform(_ids=itertools.count(2000))
    round_id, posted, already = await pb.open_round(plan="sample", channel=_channel(),
                                                    platform=again)
    assert (posted, already) == (7, 1)
    assert [s.key for _, s in again.sections][0] == "digital-skills"
    assert [key for _, _, key in again.finished] == ["broadband"]  # its thread and reactions


async def test_two_processes_opening_one_plan_share_one_round(tmp_path, database_url):
    import asyncio

    from bot.core import Planbot
    from bot.platform import ChannelRef

    first = make_planbot(tmp_path, database_url=database_url)
    second = Planbot(first.store, first.settings, first.clock)  # another process, same store
    results = await asyncio.gather(
        first.open_round(plan="sample", channel=_channel(), platform=RecordingPlatform()),
        second.open_round(plan="sample", channel=ChannelRef("slack", "T1", "C1"),
                          platform=RecordingPlatform(name="slack")))
    assert len({r[0] for r in results}) == 1
    assert len(first.store.rounds("open")) == 1
    first.close()
    second.close()
    first.store.engine.dispose()
