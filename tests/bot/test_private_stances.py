"""Private votes (the Vote button) and reactions are one stance; a round's stance mode and
what its privacy notice says; private votes in the analysis' read, across a reply's edit, in
a person's data and erasure; on SQLite and PostgreSQL (issue 14)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.errors import BadArgument, Conflict
from bot.events import Actor, PrivateVote, ReactionsCleared, ReplyEdited
from bot.platform import ChannelRef
from bot.privacy import personal_data_json
from tests.bot.test_events_once import react, reply, unreact
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
    # Another channel of the same guild joins the round (another place would need an
    # invitation), and cannot change how its stances are given.
    with pytest.raises(Conflict):
        await open_round(core, "both", channel=ChannelRef("discord", "g1", "c2"))
    joined, _ = await open_round(core, None, channel=ChannelRef("discord", "g1", "c2"))
    assert joined == round_id


async def test_packed_vote_read_gives_one_current_stance_per_pair(core):
    """The analysis' vote read (``vote_columns``, packed integers) sees one vote for a
    participant who reacted and voted privately on the same statement: the latest."""
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    await core.handle(react("u1", at=START))
    await core.handle(vote("u1", sid, "disagree", at=START + timedelta(seconds=1)))
    await core.handle(vote("u2", sid, "pass", at=START))
    await core.handle(react("u2", at=START + timedelta(seconds=1)))
    votes = core.store.vote_columns(round_id).votes
    assert sorted((int(s), int(v)) for _, s, v in votes.tolist()) == [(sid, -1), (sid, 1)]
    assert len({(int(p), int(s)) for p, s, _ in votes.tolist()}) == len(votes)


async def test_a_private_vote_counts_for_the_reply_text_it_was_given_to(core):
    """Once a reply is edited, a private vote on its earlier text stops counting, as a
    reaction does; voting again on the new text counts."""
    round_id, _ = await open_round(core)
    await core.handle(reply("u9", "5000", "Premier jet"))
    (rid,) = [c.id for c in core.store.statement_counts(round_id) if c.kind == "reply"]
    assert await core.handle(vote("u1", rid, "agree"))
    assert await core.handle(ReplyEdited(
        platform="discord", workspace_id="g1", channel_id="1000",
        occurred_at=START + timedelta(minutes=1), message_id="5000", text="Autre chose"))
    counts = {c.id: c for c in core.store.statement_counts(round_id)}
    assert counts[rid].agree == 0 and core.store.earlier_stances(round_id) == {rid: (1, 0, 0)}
    assert await core.handle(vote("u1", rid, "agree", at=START + timedelta(minutes=2)))
    assert {c.id: c.agree for c in core.store.statement_counts(round_id)}[rid] == 1


@pytest.mark.parametrize(("mode", "lang", "says"), [
    ("reactions", "en", ("react with 👍 👎 🤷", "your reactions and replies are visible")),
    ("both", "en", ("or vote privately with its Vote button or `/vote`",
                    "a vote given with the Vote button is seen by no one else")),
    ("private", "en", ("votes in this round are private", "your votes are seen by no one else")),
    ("private", "fr", ("les votes de ce tour sont privés", "`/voter`",
                       "vos votes ne sont vus de personne d’autre")),
])
async def test_the_privacy_notice_says_which_stance_mode_applies(core, mode, lang, says):
    platform = RecordingPlatform()
    await core.rounds.open(plan="sample", platform=platform, channel=CHANNEL,
                           stance_mode=mode, language=lang)
    ((_, notice),) = platform.notices
    for words in says:
        assert words in notice
    assert ("react with" in notice) == (mode != "private" and lang == "en")


async def test_my_data_gives_private_votes_with_their_via_and_erasure_removes_them(core):
    round_id, _ = await open_round(core)
    sid = await first_statement(core, round_id)
    await core.handle(react("u1", emoji="👎", at=START))
    await core.handle(vote("u1", sid, "agree", at=START + timedelta(seconds=1)))
    data = await core.privacy.export("discord", "u1", "chat")
    doc = json.loads(personal_data_json(data, "discord", "u1"))
    assert sorted((s["via"], s["emoji"], s["stance"], s["counts"]) for s in doc["stances"]) == [
        ("private", None, "agree", True), ("reaction", "👎", "disagree", False)]
    report = await core.privacy.erase("discord", "u1", "chat")
    assert report.stances == 2
    assert first_counts(core, round_id) == (0, 0, 0)
    assert await core.privacy.export("discord", "u1", "chat") is None
