"""Private votes on the local Discord with the real discord.py (issue 14): the Vote button,
ephemeral cards in routing order, /vote, and nothing visible to other members."""

from __future__ import annotations

import asyncio

import pytest

from storage.models import Stance

TWO = "broadband,digital-skills"


def visible(sb) -> list:
    """Everything members can see in the local Discord: every message in every channel,
    its text, components and reactions."""
    return sorted((m.id, m.channel_id, m.content, repr(m.components), repr(m.reactions))
                  for m in sb.world.messages.values())


def buttons(components: list[dict]) -> list[str]:
    found = []
    for c in components:
        if c.get("type") == 2:
            found.append(c["custom_id"])
        found += buttons(c.get("components") or [])
    return found


def card(sb, message_id: str) -> tuple[str, list[str]]:
    """An ephemeral card's text and button ids."""
    _, message = sb.ephemeral[message_id]
    return message["content"], buttons(message.get("components") or [])


async def open_round(h, **options):
    await h.run("alice", "open", plan="sample", sections=TWO, **options)
    rid = h.round_id()
    ids = {s.section_key: s.statement_id for s in h.core.store.round_sections(rid)}
    return rid, h.first_parts(rid), ids


async def vote_through(h, user: str, card_id: str, stance: str = "agree") -> list[int]:
    """Vote ``stance`` on every card until none is left; the statements shown, in order."""
    shown: list[int] = []
    while True:
        _, ids = card(h.sandbox, card_id)
        if not ids:
            return shown
        statement = int(ids[0].split(":")[2])
        shown.append(statement)
        await h.sandbox.user_clicks_ephemeral(user, card_id, f"planbot:stance:{statement}:{stance}")
        await h.settle()


async def test_a_participant_votes_privately_on_every_statement_in_routing_order(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    rid, first, ids = await open_round(h)
    bb = first["broadband"]
    section = next(m for m in sb.messages(h.channel_id) if m.id == bb)
    assert buttons(section.components) == [f"planbot:vote:{ids['broadband']}"]
    await sb.user_replies(h.person("chloe"), h.channel_id, bb, "La fibre d'abord")
    await h.settle()
    reply = next(r.id for r in h.core.store.statement_counts(rid) if r.kind == "reply")
    before = visible(sb)

    bob = h.person("bob")
    answer = await sb.user_clicks(bob, h.channel_id, bb, f"planbot:vote:{ids['broadband']}")
    await h.settle()
    assert answer.ephemeral
    card_id = answer.record.original_id
    text, _ = card(sb, card_id)
    assert "La Vallée" in text or "Internet" in text  # the broadband section, first
    with pytest.raises(PermissionError):  # no one else can see or click it
        await sb.user_clicks_ephemeral(h.person("dan"), card_id, f"planbot:stance:{ids['broadband']}:agree")

    shown = await vote_through(h, bob, card_id)

    # The clicked section first, then the other section, then the reply: each once.
    assert shown == [ids["broadband"], ids["digital-skills"], reply]
    assert "3" in card(sb, card_id)[0]  # nothing left: "you voted on 3 statements"
    assert visible(sb) == before  # no message, edit or reaction others could see
    assert {(p, s) for p, s, st in h.stances() if st == "agree" and p == "bob"} == {
        ("bob", "broadband"), ("bob", "digital-skills"), ("bob", "reply:La fibre d'abord")}


async def test_a_reaction_and_a_private_vote_are_one_stance(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first, ids = await open_round(h)
    alice, bb = h.person("alice"), first["broadband"]
    await sb.user_reacts(alice, h.channel_id, bb, "👍")
    await h.settle()
    answer = await sb.user_clicks(alice, h.channel_id, bb, f"planbot:vote:{ids['broadband']}")
    await h.settle()
    card_id = answer.record.original_id
    await sb.user_clicks_ephemeral(alice, card_id, f"planbot:stance:{ids['broadband']}:disagree")
    await h.settle()
    assert {s for s in h.stances() if s[0] == "alice"} == {("alice", "broadband", "disagree")}
    # Removing the reaction withdraws only what the reaction said.
    await sb.user_unreacts(alice, h.channel_id, bb, "👍")
    await h.settle()
    assert {s for s in h.stances() if s[0] == "alice"} == {("alice", "broadband", "disagree")}


async def test_a_double_click_records_one_stance(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    rid, first, ids = await open_round(h)
    bob = h.person("bob")
    answer = await sb.user_clicks(bob, h.channel_id, first["broadband"],
                                  f"planbot:vote:{ids['broadband']}")
    await h.settle()
    card_id = answer.record.original_id
    click = f"planbot:stance:{ids['broadband']}:pass"
    await asyncio.gather(sb.user_clicks_ephemeral(bob, card_id, click),
                         sb.user_clicks_ephemeral(bob, card_id, click))
    await h.settle()
    with h.core.store.engine.connect() as conn:
        rows = conn.execute(Stance.__table__.select().where(
            Stance.statement_id == ids["broadband"])).all()
    assert len(rows) == 1 and rows[0].via == "private" and rows[0].stance == "pass"
    counts = {c.id: c for c in h.core.store.statement_counts(rid)}
    assert counts[ids["broadband"]].passes == 1


async def test_vote_command_in_a_private_round(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    none_yet = await h.run("bob", "vote")
    assert none_yet.ephemeral and "planbot:" not in repr(none_yet.record.messages)
    _, first, ids = await open_round(h, stances="private")
    section = next(m for m in sb.messages(h.channel_id) if m.id == first["broadband"])
    assert section.reactions == {}  # no seed reactions in a private round
    await sb.user_reacts(h.person("dan"), h.channel_id, first["broadband"], "👍")
    await h.settle()
    assert h.stances() == set()  # reactions are ignored there

    answer = await h.run("dan", "vote", locale="fr")
    assert answer.ephemeral and "Tour n°" in card(sb, answer.record.original_id)[0]
    shown = await vote_through(h, h.person("dan"), answer.record.original_id, "disagree")
    assert sorted(shown) == sorted(ids.values())
    done = card(sb, answer.record.original_id)[0]
    assert "Nothing left" in done and "2" in done  # the clicks come in dan's own locale
    assert {s for s in h.stances()} == {("dan", "broadband", "disagree"),
                                        ("dan", "digital-skills", "disagree")}
