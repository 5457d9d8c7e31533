"""Moderation in the core, on SQLite and PostgreSQL (issue 14): a pending reply counts
nowhere (tallies, participants, the vote matrix, the Polis export) until accepted; each
decision is applied once per interaction and logged without text; the round's mode is
chosen at opening, changed by a facilitator, and a join asking another is refused."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from bot import wire
from bot.digests.build import Period, build_digest
from bot.errors import Conflict, NotFound
from bot.events import Actor, CommandInvoked, PrivateVote, ReplyEdited
from bot.platform import ChannelRef
from bot.privacy import personal_data_json
from storage.inbox import ERASED
from tests.bot.test_events_once import react, reply
from tests.helpers import START, RecordingPlatform, make_core

CHANNEL = ChannelRef("discord", "g1", "c1")


@pytest.fixture
async def core(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    yield core
    core.close()
    core.store.engine.dispose()


async def open_round(core, moderation="strict", channel=CHANNEL):
    platform = RecordingPlatform()
    core.attach(platform)
    round_id, _, _ = await core.rounds.open(plan="sample", platform=platform, channel=channel,
                                            moderation=moderation)
    return round_id, platform


def facilitator(key: str, user: str = "facilitator", action: str = "moderate",
                **args: str) -> CommandInvoked:
    return CommandInvoked(platform="discord", workspace_id="g1", channel_id="c1",
                          occurred_at=START, event_key=key, actor=Actor(user),
                          action=action, args=args, locale="en")


def reply_id(core, round_id: int) -> int:
    (entry,) = core.store.moderation_queue(round_id, 5).entries
    return entry.statement_id


async def test_a_pending_reply_counts_nowhere_until_accepted(core):
    round_id, _ = await open_round(core)
    assert await core.handle(reply("author", "2000", "Une piste cyclable"))
    assert await core.handle(react("voter", msg="2000", at=START + timedelta(seconds=1),
                                 channel_id="1000"))
    sid = reply_id(core, round_id)

    assert {c.kind for c in core.store.statement_counts(round_id)} == {"section"}
    assert core.store.participation(round_id).total == 0
    assert str(sid) not in core.store.vote_triples(round_id).statement_ids
    assert len(core.store.vote_columns(round_id).votes) == 0
    exported = {s.id: s.moderated for s in core.store.export_conversation(round_id).statements}
    assert exported[str(sid)] == 0  # Polis' "not moderated yet"
    status = await core.run_command(facilitator("s1", action="status"), RecordingPlatform())
    assert "0 replies" in status.text and "1 reply waits for a decision." in status.text

    card = await core.moderation.decide(facilitator("k1"), sid, "accept")
    assert "accepted" in card.text
    counts = {c.id: c for c in core.store.statement_counts(round_id)}
    assert counts[sid].moderated and counts[sid].agree == 1  # the stance counts from now on
    assert core.store.participation(round_id).total == 2
    assert str(sid) in core.store.vote_triples(round_id).statement_ids


async def test_each_decision_is_applied_once_and_logged_without_text(core):
    round_id, platform = await open_round(core)
    await core.handle(reply("author", "2000", "Texte à ne pas journaliser"))
    sid = reply_id(core, round_id)

    await core.moderation.decide(facilitator("k1"), sid, "accept")
    await core.moderation.decide(facilitator("k1"), sid, "accept")  # delivered twice
    await core.moderation.decide(facilitator("k2"), sid, "accept")  # a second click
    await core.settle()
    assert [d.action for d in core.store.moderation_log(round_id)] == ["accepted"]
    assert len(platform.copies) == 0  # one channel: nowhere to copy to

    card = await core.moderation.decide(facilitator("k3"), sid, "reject")
    assert "rejected" in card.text and [b.decision for b in card.entries[0].buttons] == ["accept"]
    log = core.store.moderation_log(round_id)
    assert [(d.statement_id, d.action) for d in log] == [(sid, "accepted"), (sid, "rejected")]
    assert all(d.moderator_key == core.pseudonyms.key("discord", "facilitator") for d in log)
    assert "journaliser" not in repr(log)
    assert not {c.id: c for c in core.store.statement_counts(round_id)}[sid].moderated
    # Its author sees where moderation left it in their data (Law 25, s. 27).
    held = await core.privacy.export("discord", "author", "chat")
    assert [r.moderation for r in held.replies] == ["rejected"]

    # Not a facilitator: the statement is answered as one that does not exist.
    refused = await core.moderation.decide(facilitator("k4", user="someone"), sid, "accept")
    assert refused.round_id is None and refused.entries == ()
    assert refused.text == (await core.moderation.decide(facilitator("k5"), 999_999,
                                                         "accept")).text
    assert len(core.store.moderation_log(round_id)) == 2


async def test_the_mode_is_chosen_at_opening_and_changed_once_per_command(core):
    round_id, _ = await open_round(core)
    assert core.store.round_moderation(round_id) == "strict"
    with pytest.raises(Conflict):  # another channel of the place joins asking another mode
        await core.rounds.open(plan="sample", platform=RecordingPlatform(),
                               channel=ChannelRef("discord", "g1", "c2"), moderation="open")

    card = await core.moderation.show(facilitator("m1", mode="open"))
    assert "moderated openly" in card.text
    await core.moderation.show(facilitator("m1", mode="open"))
    assert core.store.round_moderation(round_id) == "open"
    assert [(d.action, d.statement_id) for d in core.store.moderation_log(round_id)] == [
        ("open", None)]
    # Open again: a new reply is copied and counted at once.
    await core.handle(reply("author", "2001", "Aussitôt compté"))
    assert [c.text for c in core.store.statement_counts(round_id) if c.kind == "reply"] == [
        "Aussitôt compté"]
    bad = await core.moderation.show(facilitator("m2", mode="laxiste"))
    assert bad.round_id is None and "laxiste" in bad.text


def vote(user: str, statement_id: int, key: str) -> PrivateVote:
    return PrivateVote(platform="discord", workspace_id="g1", channel_id="c1",
                       occurred_at=START, event_key=f"discord:interaction:{key}",
                       actor=Actor(user), statement_id=statement_id, stance="agree")


async def test_a_rejected_reply_counts_neither_its_author_nor_its_voters(core):
    round_id, _ = await open_round(core)
    await core.handle(reply("author", "2000", "Hors sujet"))
    await core.handle(react("fan", msg="2000", channel_id="1000", at=START + timedelta(seconds=1)))
    sid = reply_id(core, round_id)
    await core.moderation.decide(facilitator("k1"), sid, "accept")
    assert core.store.participation(round_id).total == 2

    await core.moderation.decide(facilitator("k2"), sid, "reject")
    digest = build_digest(core.store, round_id, Period(START, START + timedelta(days=60)))
    assert digest.participation.moderated_out == 1
    assert (core.store.participation(round_id).total, digest.participation.people) == (0, 0)


async def test_a_private_vote_on_a_pending_or_rejected_reply_is_refused_and_not_stored(core):
    round_id, _ = await open_round(core)
    await core.handle(reply("author", "2000", "En attente"))
    sid = reply_id(core, round_id)
    with pytest.raises(NotFound) as pending:  # a crafted id: replies' ids are consecutive
        await core.voting.vote(vote("voter", sid, "v1"), "en")
    assert "waiting for a facilitator" in pending.value.message("en")
    assert not await core.handle(vote("voter", sid, "v2"))  # refused where it is applied too

    await core.moderation.decide(facilitator("k1"), sid, "accept")
    await core.moderation.decide(facilitator("k2"), sid, "reject")
    with pytest.raises(NotFound):  # a card shown before the rejection, clicked after
        await core.voting.vote(vote("voter", sid, "v3"), "en")
    assert not await core.handle(vote("voter", sid, "v4"))
    assert core.store.voted_statements(round_id, core.pseudonyms.key("discord", "voter")) == set()


async def test_a_closed_round_is_not_moderated_after_its_final_digest(core):
    round_id, _ = await open_round(core)
    await core.handle(reply("author", "2000", "Tardive"))
    sid = reply_id(core, round_id)
    assert await core.rounds.close(round_id)

    card = await core.moderation.decide(facilitator("k1"), sid, "accept")
    assert card.round_id is None and "already closed" in card.text
    mode = await core.moderation.show(facilitator("k2", mode="open"))
    assert mode.round_id is None and "already closed" in mode.text
    await core.settle()
    assert (core.store.moderation_log(round_id), core.store.round_moderation(round_id)) == (
        [], "strict")
    assert core.store.participation(round_id).total == 0
    # The card still shows the round, with no decision left to make; so does the store.
    shown = await core.moderation.show(facilitator("k3"))
    assert "already closed" in shown.text and [e.buttons for e in shown.entries] == [()]
    assert core.store.decide_statement(event_key="k4", statement_id=sid, decision="accepted",
                                       moderator_key="x", platform="discord", at=START) is None


async def test_a_place_that_joined_the_round_does_not_moderate_it(core):
    round_id, platform = await open_round(core)
    await core.handle(reply("author", "2000", "Une réponse"))
    sid = reply_id(core, round_id)
    code, _ = await core.rounds.invitations.create(round_id)
    await core.rounds.open(plan="sample", platform=platform, join=code,
                           channel=ChannelRef("discord", "g2", "c9"))
    joined = {"workspace_id": "g2", "channel_id": "c9"}

    mode = await core.moderation.show(replace(facilitator("k1", mode="open"), **joined))
    decided = await core.moderation.decide(replace(facilitator("k2"), **joined), sid, "reject")
    for card in (mode, decided):
        assert card.round_id is None and "opened in another server" in card.text
    assert (core.store.round_moderation(round_id), core.store.moderation_log(round_id)) == (
        "strict", [])
    assert (await core.moderation.decide(facilitator("k3"), sid, "accept")).round_id == round_id


async def test_under_strict_moderation_an_edited_reply_waits_for_a_facilitator_again(core):
    """'Post harmless, edit later': the edit of an accepted reply is neither copied nor
    counted until a facilitator accepts the new text; the copies keep the text accepted."""
    round_id, platform = await open_round(core)
    await core.rounds.open(plan="sample", platform=platform,
                           channel=ChannelRef("discord", "g1", "c2"))
    await core.handle(reply("author", "2000", "Une piste cyclable"))
    sid = reply_id(core, round_id)
    await core.moderation.decide(facilitator("k1"), sid, "accept")
    await core.settle()
    assert ["Une piste cyclable" in text for _, _, text in platform.copies] == [True]

    assert await core.handle(ReplyEdited(
        platform="discord", workspace_id="g1", channel_id="1000", message_id="2000",
        occurred_at=START + timedelta(minutes=1), text="SPAM https://evil.example"))
    await core.settle()
    assert platform.edited == []
    (entry,) = core.store.moderation_queue(round_id, 5).entries
    assert (entry.state, entry.text) == ("pending", "SPAM https://evil.example")
    assert sid not in {c.id for c in core.store.statement_counts(round_id)}
    assert core.store.participation(round_id).total == 0
    card = await core.moderation.show(facilitator("k2"))
    assert [b.decision for b in card.entries[0].buttons] == ["accept", "reject"]

    await core.moderation.decide(facilitator("k3"), sid, "accept")
    await core.settle()
    assert ["SPAM" in text for _, _, text in platform.edited] == [True]
    assert len(platform.copies) == 1  # edited in place, not copied twice
    counts = {c.id: c for c in core.store.statement_counts(round_id)}
    assert counts[sid].text == "SPAM https://evil.example" and counts[sid].moderated


async def test_a_facilitators_data_lists_their_decisions_and_forget_me_unlinks_them(core):
    round_id, platform = await open_round(core)
    await core.handle(reply("author", "2000", "Texte"))
    sid = reply_id(core, round_id)
    await core.moderation.decide(facilitator("k1"), sid, "accept")
    await core.moderation.show(facilitator("k2", mode="open"))
    await core.moderation.decide(replace(facilitator("k3", user="voter"), is_admin=True), sid,
                                 "reject")
    await core.handle(react("voter", msg="1000"))  # a facilitator who also takes part

    data = await core.privacy.export("discord", "facilitator", "chat")  # only moderated
    assert (data.participant_id, [r.id for r in data.rounds]) == (None, [round_id])
    assert [(d.statement_id, d.action) for d in data.decisions] == [(sid, "accepted"),
                                                                  (None, "open")]
    doc = json.loads(personal_data_json(data, "discord", "facilitator"))
    assert [d["action"] for d in doc["moderation_decisions"]] == ["accepted", "open"]
    answer = await core.run_command(replace(facilitator("k4"), action="my-data"), platform)
    assert "2 moderation decisions of yours" in answer.text
    voter = await core.privacy.export("discord", "voter", "chat")
    assert [d.action for d in voter.decisions] == ["rejected"] and len(voter.stances) == 1

    # The facilitator's first stance, recorded but not applied yet when they are erased:
    # discarded with the rest, not applied after.
    waiting = core.store.inbox_record([wire.inbox_row(react("facilitator", msg="1000"),
                                                      core.clock.now())])
    for who, decided, pending in (("facilitator", 2, 1), ("voter", 1, 0)):
        report = await core.privacy.erase("discord", who, "chat")
        assert (report.found, report.decisions, report.pending) == (True, decided, pending)
        await core.settle()
        assert await core.privacy.export("discord", who, "chat") is None
    assert core.store.inbox_outcomes(waiting) == {waiting[0]: ERASED}
    log = core.store.moderation_log(round_id)
    assert [(d.action, d.moderator_key) for d in log] == [
        ("accepted", None), ("open", None), ("rejected", None)]
