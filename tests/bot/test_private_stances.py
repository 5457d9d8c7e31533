"""Private votes (the Vote button) and reactions are one stance; a round's stance mode, on
SQLite and PostgreSQL (issue 14)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import BadArgument, Conflict
from bot.events import Actor, PrivateVote, ReactionsCleared
from bot.platform import ChannelRef
from tests.bot.test_events_once import react, unreact
from tests.helpers import START, RecordingPlatform, make_core

CHANNEL = ChannelRef("discord", "g1", "c1")


@pytest.fixture
async def core(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    yield core
    core.close()
    core.store.engine.dispose()


async def open_round(core, mode=None, channel=CHANNEL):
    platform = RecordingPlatform()
    round_id, _, _ = await core.rounds.open(plan="sample", platform=platform, channel=channel,
                                            stance_mode=mode)
    return round_id, platform


def vote(user, statement_id, stance, at=START, key=None):
    return PrivateVote(platform="discord", workspace_id="g1", channel_id="c1",
                       occurred_at=at, event_key=key, actor=Actor(user),
                       statement_id=statement_id, stance=stance)


def first_counts(core, round_id):
    c = core.store.statement_counts(round_id)[0]
    return c.agree, c.disagree, c.passes


async def first_statement(core, round_id):
    return core.store.round_sections(round_id)[0].statement_id


async def test_reaction_then_private_vote_are_one_stance(core):
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    assert await core.handle(react("u1", at=START))
    assert first_counts(core, round_id) == (1, 0, 0)
    assert await core.handle(vote("u1", sid, "disagree", at=START + timedelta(seconds=1)))
    assert first_counts(core, round_id) == (0, 1, 0)
    # The latest wins whichever way: a reaction after the vote takes over again.
    assert await core.handle(react("u1", emoji="🤷", at=START + timedelta(seconds=2)))
    assert first_counts(core, round_id) == (0, 0, 1)


async def test_removing_a_reaction_leaves_the_private_vote(core):
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    await core.handle(vote("u1", sid, "disagree", at=START))
    await core.handle(react("u1", at=START + timedelta(seconds=1)))
    assert first_counts(core, round_id) == (1, 0, 0)
    assert await core.handle(unreact("u1", at=START + timedelta(seconds=2)))
    assert first_counts(core, round_id) == (0, 1, 0)
    # A moderator clearing every reaction does not touch private votes either.
    await core.handle(ReactionsCleared(platform="discord", workspace_id="g1", channel_id="c1",
                                       occurred_at=START + timedelta(seconds=3),
                                       message_id="1000"))
    assert first_counts(core, round_id) == (0, 1, 0)
    assert core.store.present_reactions_on(sid, "discord") == set()


async def test_double_click_records_one_vote(core):
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    assert await core.handle(vote("u1", sid, "agree", key="discord:i1"))
    assert not await core.handle(vote("u1", sid, "agree", key="discord:i1"))
    assert not await core.handle(vote("u1", sid, "agree", key="discord:i2"))
    assert first_counts(core, round_id) == (1, 0, 0)


async def test_withdrawing_a_private_vote(core):
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    await core.handle(react("u1", emoji="👎", at=START))
    await core.handle(vote("u1", sid, "agree", at=START + timedelta(seconds=1)))
    assert await core.handle(vote("u1", sid, None, at=START + timedelta(seconds=2)))
    assert first_counts(core, round_id) == (0, 1, 0)  # the reaction counts again
    assert not await core.handle(vote("u1", sid, None, at=START + timedelta(seconds=3)))
    # Voting again after a withdrawal revives the one private row.
    assert await core.handle(vote("u1", sid, "pass", at=START + timedelta(seconds=4)))
    assert first_counts(core, round_id) == (0, 0, 1)


async def test_private_round_ignores_reactions_and_seeds_none(core):
    round_id, platform = await open_round(core, "private")
    assert core.store.get_round(round_id).stance_mode == "private"
    _, post = platform.sections[0]
    assert post.seed_emoji == () and post.stance_mode == "private"
    assert "Vote" in post.body or "Voter" in post.body  # participants are told
    sid = await first_statement(core, round_id)
    assert not await core.handle(react("u1"))
    assert first_counts(core, round_id) == (0, 0, 0)
    assert await core.handle(vote("u1", sid, "agree"))
    assert first_counts(core, round_id) == (1, 0, 0)


async def test_reactions_round_refuses_private_votes(core):
    round_id, platform = await open_round(core, "reactions")
    assert platform.sections[0][1].seed_emoji  # seeded as before
    sid = await first_statement(core, round_id)
    assert not await core.handle(vote("u1", sid, "agree"))
    assert await core.handle(react("u1"))
    assert first_counts(core, round_id) == (1, 0, 0)


async def test_private_vote_on_a_closed_round_or_unknown_statement(core):
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    assert not await core.handle(vote("u1", 999_999, "agree"))
    assert not await core.handle(vote("u1", sid, "maybe"))  # malformed: skipped, logged
    await core.rounds.close(round_id)
    assert not await core.handle(vote("u1", sid, "agree"))


async def test_stance_mode_is_chosen_at_opening(core):
    with pytest.raises(BadArgument):
        await open_round(core, "secret")
    round_id, _ = await open_round(core, "private")
    with pytest.raises(Conflict):
        await open_round(core, "both", channel=ChannelRef("slack", "T1", "C1"))
    joined, _ = await open_round(core, None, channel=ChannelRef("slack", "T1", "C1"))
    assert joined == round_id
