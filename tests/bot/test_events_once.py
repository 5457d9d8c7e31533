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
from tests.helpers import START, RecordingPlatform, make_core

CH = dict(platform="discord", workspace_id="g1", channel_id="c1")


async def open_sample(core):
    platform = RecordingPlatform()
    round_id, posting, _ = await core.rounds.open(plan="sample", platform=platform,
                                               channel=_channel())
    assert posting.posted == 8
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


def snapshot(core, round_id):
    """Everything a digest or analysis reads: counts per statement, people, texts."""
    counts = core.store.statement_counts(round_id)
    return ([(c.kind, c.text, c.agree, c.disagree, c.passes,
              c.deleted_at is not None) for c in counts],
            core.store.participation(round_id), core.store.vote_triples(round_id))


@pytest.fixture
async def core(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    yield core
    core.close()
    core.store.engine.dispose()


@pytest.mark.parametrize("key", [None, "slack:Ev1"])
async def test_reaction_added_twice(core, key):
    round_id, _ = await open_sample(core)
    assert await core.handle(react("u1", key=key))
    before = snapshot(core, round_id)
    assert not await core.handle(react("u1", key=key))
    assert snapshot(core, round_id) == before
    assert before[0][0][2] == 1


@pytest.mark.parametrize("key", [None, "slack:Ev2"])
async def test_reaction_removed_twice(core, key):
    round_id, _ = await open_sample(core)
    await core.handle(react("u1"))
    assert await core.handle(unreact("u1", key=key, at=START + timedelta(seconds=1)))
    before = snapshot(core, round_id)
    assert not await core.handle(unreact("u1", key=key, at=START + timedelta(seconds=1)))
    assert snapshot(core, round_id) == before
    assert before[0][0][2:5] == (0, 0, 0)


async def test_stale_retry_of_an_add_after_its_removal_is_ignored(core):
    """Slack re-delivers an add five minutes after a remove: its event id was recorded."""
    round_id, _ = await open_sample(core)
    await core.handle(react("u1", key="slack:EvAdd"))
    await core.handle(unreact("u1", key="slack:EvDel", at=START + timedelta(seconds=5)))
    assert not await core.handle(react("u1", key="slack:EvAdd", at=START + timedelta(minutes=5)))
    assert snapshot(core, round_id)[0][0][2] == 0


async def test_reactions_cleared_twice(core):
    round_id, _ = await open_sample(core)
    for user in ("u1", "u2"):
        await core.handle(react(user))
    await core.handle(react("u3", emoji="👎"))
    clear_emoji = ReactionsCleared(**CH, occurred_at=START, message_id="1000", emoji=Emoji("👍"))
    assert await core.handle(clear_emoji)
    assert not await core.handle(clear_emoji)
    assert snapshot(core, round_id)[0][0][2:5] == (0, 1, 0)
    clear_all = ReactionsCleared(**CH, occurred_at=START, message_id="1000")
    assert await core.handle(clear_all)
    before = snapshot(core, round_id)
    assert not await core.handle(clear_all)
    assert snapshot(core, round_id) == before
    assert before[0][0][2:5] == (0, 0, 0)


async def test_reply_posted_twice(core):
    round_id, _ = await open_sample(core)
    assert await core.handle(reply("u1", "5000", "Cafe\u0301 pour tous"))
    before = snapshot(core, round_id)
    assert not await core.handle(reply("u1", "5000", "Cafe\u0301 pour tous"))
    assert snapshot(core, round_id) == before
    replies = [c for c in before[0] if c[0] == "reply"]
    assert replies == [("reply", "Café pour tous", 0, 0, 0, False)]  # NFC-normalised


async def test_reply_edited_twice_keeps_history(core):
    round_id, _ = await open_sample(core)
    await core.handle(reply("u1", "5000", "Premier jet"))
    edit = ReplyEdited(platform="discord", workspace_id="g1", channel_id="1000",
                       occurred_at=START + timedelta(minutes=1), message_id="5000",
                       text="Version revue")
    assert await core.handle(edit)
    before = snapshot(core, round_id)
    assert not await core.handle(edit)
    assert snapshot(core, round_id) == before
    from sqlalchemy import select

    from storage.models import StatementEdit

    with core.store.engine.connect() as conn:
        history = conn.execute(select(StatementEdit.previous_text)).scalars().all()
    assert history == ["Premier jet"]


async def test_reply_deleted_twice(core):
    round_id, _ = await open_sample(core)
    await core.handle(reply("u1", "5000"))
    await core.handle(react("u2", msg="5000", emoji="👍", channel_id="1000"))
    delete = ReplyDeleted(platform="discord", workspace_id="g1", channel_id="1000",
                          occurred_at=START, message_id="5000")
    assert await core.handle(delete)
    before = snapshot(core, round_id)
    assert not await core.handle(delete)
    assert snapshot(core, round_id) == before
    assert before[1].total == 0  # neither the deleted reply's author nor its voter counts
    assert all(sid != "9" for _, sid, _ in before[2][0])


async def test_latest_reaction_wins_and_removal_falls_back(core):
    round_id, _ = await open_sample(core)
    await core.handle(react("u1", emoji="👍"))
    await core.handle(react("u1", emoji="👎", at=START + timedelta(seconds=1)))
    assert snapshot(core, round_id)[0][0][2:5] == (0, 1, 0)
    await core.handle(unreact("u1", emoji="👎", at=START + timedelta(seconds=2)))
    assert snapshot(core, round_id)[0][0][2:5] == (1, 0, 0)
    await core.handle(unreact("u1", emoji="👍", at=START + timedelta(seconds=3)))
    assert snapshot(core, round_id)[0][0][2:5] == (0, 0, 0)


async def test_bots_unknown_messages_and_unmapped_emoji_count_for_nothing(core):
    round_id, _ = await open_sample(core)
    bot_event = ReactionAdded(**CH, occurred_at=START, actor=Actor("b1", is_bot=True),
                              message_id="1000", emoji=Emoji("👍"))
    assert not await core.handle(bot_event)
    assert not await core.handle(react("u1", msg="999999"))
    assert await core.handle(react("u1", emoji="🎉"))  # kept raw...
    assert snapshot(core, round_id)[0][0][2:5] == (0, 0, 0)  # ...counting for nothing
    assert await core.handle(react("u2", emoji="👍🏿"))
    assert await core.handle(react("u3", emoji="🤷\u200d♀\ufe0f"))
    assert snapshot(core, round_id)[0][0][2:5] == (1, 0, 1)


async def test_closed_round_keeps_late_events_out_of_the_tally(core):
    """Issue 11: what comes after the close is stored, marked late, and never counted."""
    round_id, _ = await open_sample(core)
    before = snapshot(core, round_id)
    core.store.close_round(round_id, START)
    assert await core.handle(react("u1"))
    assert await core.handle(reply("u1", "5000"))
    assert not await core.handle(react("u1"))  # a second delivery changes nothing
    after = snapshot(core, round_id)
    assert [c for c in after[0] if c[0] == "section"] == [c for c in before[0] if c[0] == "section"]
    assert after[2].votes == before[2].votes  # the analysis reads no late stance...
    assert after[2].excluded == after[2].statement_ids[-1:]  # ...and no late reply
    assert core.store.participation(round_id).total == 0


async def test_reaction_added_again_after_removal_counts_again(core):
    round_id, _ = await open_sample(core)
    await core.handle(react("u1"))
    await core.handle(unreact("u1", at=START + timedelta(seconds=1)))
    assert await core.handle(react("u1", at=START + timedelta(seconds=2)))
    assert snapshot(core, round_id)[0][0][2:5] == (1, 0, 0)


async def test_malformed_events_are_skipped_not_raised(core):
    await open_sample(core)
    naive = ReactionAdded(**CH, occurred_at=START.replace(tzinfo=None), actor=Actor("u1"),
                          message_id="1000", emoji=Emoji("👍"))
    assert not await core.handle(naive)
    assert await core.handle(reply("u1", "5001", "nul\x00 caractère \ud83d"))


async def test_non_utc_times_are_stored_as_the_same_instant(core):
    from zoneinfo import ZoneInfo

    round_id, _ = await open_sample(core)
    montreal = START.astimezone(ZoneInfo("America/Montreal"))
    assert await core.handle(react("u1", at=montreal))
    (added_at, _), = core.store.stance_activity(round_id)
    assert added_at == START


async def test_joining_an_open_round_refuses_another_language_or_date(core):
    from bot.errors import Conflict
    from bot.platform import ChannelRef

    await core.rounds.open(plan="sample", channel=_channel(), platform=RecordingPlatform(),
                        closes="7d")
    slack = RecordingPlatform()
    for kwargs, msgid in (({"language": "en"}, "error.round_other_language"),
                          ({"closes": "1d"}, "error.round_other_closes")):
        with pytest.raises(Conflict) as err:
            await core.rounds.open(plan="sample", channel=ChannelRef("discord", "g1", "c2"),
                                platform=slack, **kwargs)
        assert err.value.msgid == msgid
    assert slack.sections == []
    _round_id, posting, elsewhere = await core.rounds.open(
        plan="sample", platform=slack, channel=ChannelRef("discord", "g1", "c2"))
    assert posting.posted == 8 and len(core.store.rounds()) == 1
    assert elsewhere == ("discord",)  # joined the round open in another channel, and says so


async def test_two_opens_of_one_plan_at_once_make_one_round(core):
    """The second, arriving while the first posts, is answered at once as in progress
    instead of waiting behind it; running it again afterwards joins the one round."""
    import asyncio

    from bot.errors import Conflict
    from bot.platform import ChannelRef

    other = RecordingPlatform()
    first, second = await asyncio.gather(
        core.rounds.open(plan="sample", channel=_channel(), platform=RecordingPlatform()),
        core.rounds.open(plan="sample", channel=ChannelRef("discord", "g1", "c2"),
                         platform=other), return_exceptions=True)
    assert isinstance(second, Conflict) and second.msgid == "error.round_opening"
    assert other.sections == [] and len(core.store.rounds("open")) == 1
    joined = await core.rounds.open(plan="sample", channel=ChannelRef("discord", "g1", "c2"),
                                    platform=other)
    assert joined.round_id == first.round_id and joined.posting.posted == 8


async def test_late_deliveries_do_not_undo_newer_state(core):
    round_id, _ = await open_sample(core)
    t = [START + timedelta(seconds=i) for i in range(4)]
    await core.handle(react("u1", at=t[1]))
    await core.handle(unreact("u1", at=t[2]))
    assert not await core.handle(react("u1", at=t[1]))  # the first add, delivered again late
    assert not await core.handle(unreact("u2", at=t[0]))
    await core.handle(react("u2", at=t[3]))
    assert not await core.handle(unreact("u2", at=t[0]))  # a removal older than the add
    assert snapshot(core, round_id)[0][0][2:5] == (1, 0, 0)
    await core.handle(reply("u1", "5000", "v1"))
    for i, text in ((2, "v2"), (3, "v3"), (2, "v2")):
        await core.handle(ReplyEdited(platform="discord", workspace_id="g1", channel_id="1000",
                                    occurred_at=t[i], message_id="5000", text=text))
    assert [c[1] for c in snapshot(core, round_id)[0] if c[0] == "reply"] == ["v3"]


async def test_a_removal_or_deletion_delivered_before_its_add_or_post_wins(core):
    round_id, _ = await open_sample(core)
    t1, t2 = START + timedelta(seconds=1), START + timedelta(seconds=2)
    assert not await core.handle(unreact("u1", at=t2, key="slack:EvRemove"))
    assert not await core.handle(react("u1", at=t1, key="slack:EvAdd"))  # Slack's late retry
    assert snapshot(core, round_id)[0][0][2:5] == (0, 0, 0)
    assert await core.handle(react("u1", at=START + timedelta(seconds=3)))  # a newer add counts
    assert snapshot(core, round_id)[0][0][2:5] == (1, 0, 0)
    deleted = ReplyDeleted(platform="discord", workspace_id="g1", channel_id="1000",
                           occurred_at=t2, message_id="5000")
    assert not await core.handle(deleted)
    assert not await core.handle(reply("u2", "5000", "posted, then deleted", at=t1))
    assert [c for c in snapshot(core, round_id)[0] if c[0] == "reply"] == []


async def test_a_message_without_text_is_not_a_statement(core):
    round_id, _ = await open_sample(core)
    assert not await core.handle(reply("u1", "5000", "  "))
    assert [c for c in snapshot(core, round_id)[0] if c[0] == "reply"] == []


async def test_an_empty_sections_list_is_refused(core):
    from bot.events import CommandInvoked

    cmd = CommandInvoked(**CH, occurred_at=START, actor=Actor("f"), action="open",
                         args={"plan": "sample", "sections": ",, ,"}, locale="en",
                         roles=frozenset({"facilitator"}))
    platform = RecordingPlatform()
    answer = await core.run_command(cmd, platform)
    assert answer.text.startswith("No section named") and platform.sections == []


async def test_sections_are_recorded_as_soon_as_sent(core):
    """A process stopped while seeding reactions (a shutdown cancels it) has recorded the
    section, so opening again does not post it twice, and finishes it."""
    import asyncio
    import itertools

    class StoppedAfterSending(RecordingPlatform):
        async def post_section(self, channel, section, on_posted=None):
            await super().post_section(channel, section, on_posted)
            raise asyncio.CancelledError  # stopped while adding reactions

    with pytest.raises(asyncio.CancelledError):
        await core.rounds.open(plan="sample", channel=_channel(), platform=StoppedAfterSending())
    again = RecordingPlatform(_ids=itertools.count(2000))
    _round_id, posting, _ = await core.rounds.open(plan="sample", channel=_channel(),
                                                   platform=again)
    assert (posting.posted, posting.already) == (7, 1)
    assert next(s.key for _, s in again.sections) == "digital-skills"
    assert [key for _, _, key in again.finished] == ["broadband"]  # its thread and reactions


async def test_two_processes_opening_one_plan_share_one_round(tmp_path, database_url):
    import asyncio

    from bot.platform import ChannelRef
    from bot.service.build import build_core

    first = make_core(tmp_path, database_url=database_url)
    second = build_core(first.store, first.settings, first.clock)  # another process, same store
    results = await asyncio.gather(
        first.rounds.open(plan="sample", channel=_channel(), platform=RecordingPlatform()),
        second.rounds.open(plan="sample", channel=ChannelRef("discord", "g1", "c2"),
                          platform=RecordingPlatform()))
    assert len({r[0] for r in results}) == 1
    assert len(first.store.rounds("open")) == 1
    first.close()
    second.close()
    first.store.engine.dispose()


@pytest.mark.parametrize("closes", ["9999-12-31", "9999-12-31T23:00", "someday"])
async def test_a_closing_date_with_no_utc_form_is_a_bad_argument(core, closes):
    from bot.errors import BadArgument

    with pytest.raises(BadArgument) as err:
        core.rounds.parse_closes(closes)
    assert err.value.msgid == "error.bad_closes"
