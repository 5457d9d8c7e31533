"""``/my-stances`` on the local Discord with the real discord.py (issue 14): the caller's
stances in an ephemeral message only they can click, changed or withdrawn by its buttons
exactly once, paged, and nothing visible to other members."""

from __future__ import annotations

import asyncio

import pytest

from storage.models import Stance
from tests.integrations.discord.test_private_votes import (
    card,
    open_round,
    visible,
    vote_through,
)


async def mine(h, user: str, **options) -> tuple[str, str, list[str]]:
    """Run /my-stances as ``user``: (ephemeral message id, its text, its button ids)."""
    answer = await h.run(user, "my-stances", **options)
    assert answer.ephemeral
    text, ids = card(h.sandbox, answer.record.original_id)
    return answer.record.original_id, text, ids


async def test_my_stances_lists_changes_and_withdraws_privately(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    _, first, ids = await open_round(h)
    bob, bb, ds = h.person("bob"), ids["broadband"], ids["digital-skills"]
    await sb.user_reacts(bob, h.channel_id, first["broadband"], "👍")
    await h.settle()
    vote = await sb.user_clicks(bob, h.channel_id, first["digital-skills"], f"planbot:vote:{ds}")
    await h.settle()
    await sb.user_clicks_ephemeral(bob, vote.record.original_id, f"planbot:stance:{ds}:disagree")
    await h.settle()
    before = visible(sb)

    message, text, found = await mine(h, "bob")
    assert "1. **Internet haute vitesse partout** — Agree (reaction 👍)" in text
    assert "2. **Compétences numériques pour tous** — Disagree (private vote)" in text
    assert found == [f"planbot:mine:{bb}:disagree:0", f"planbot:mine:{bb}:pass:0",
                     f"planbot:mine:{bb}:withdraw:0", f"planbot:mine:{ds}:agree:0",
                     f"planbot:mine:{ds}:pass:0", f"planbot:mine:{ds}:withdraw:0"]
    with pytest.raises(PermissionError):  # seen and clicked by bob alone
        await sb.user_clicks_ephemeral(h.person("dan"), message, f"planbot:mine:{bb}:pass:0")

    # A double click on "pass" records one private stance.
    click = f"planbot:mine:{bb}:pass:0"
    await asyncio.gather(sb.user_clicks_ephemeral(bob, message, click),
                         sb.user_clicks_ephemeral(bob, message, click))
    await h.settle()
    assert ("bob", "broadband", "pass") in h.stances()
    with h.core.store.engine.connect() as conn:
        rows = conn.execute(Stance.__table__.select().where(
            Stance.statement_id == bb, Stance.via == "private")).all()
    assert [(r.stance, r.removed_at) for r in rows] == [("pass", None)]
    assert "Pass (private vote)" in card(sb, message)[0]

    # Withdrawing the private votes: the section voted on privately only is gone from the
    # list; the one bob also reacted to counts his reaction again.
    await sb.user_clicks_ephemeral(bob, message, f"planbot:mine:{ds}:withdraw:0")
    await h.settle()
    await sb.user_clicks_ephemeral(bob, message, f"planbot:mine:{bb}:withdraw:0")
    await h.settle()
    assert {s for s in h.stances() if s[0] == "bob"} == {("bob", "broadband", "agree")}
    text, found = card(sb, message)
    assert "Agree (reaction 👍)" in text and "Disagree" not in text.split("\n", 2)[-1]
    # The reaction itself is withdrawn on the message: the answer says so, nothing changes.
    await sb.user_clicks_ephemeral(bob, message, f"planbot:mine:{bb}:withdraw:0")
    await h.settle()
    assert "remove your reaction" in card(sb, message)[0]
    assert {s for s in h.stances() if s[0] == "bob"} == {("bob", "broadband", "agree")}

    assert visible(sb) == before  # no message, edit or reaction others could see


async def test_my_stances_pages_in_french(discord_bot):
    h, sb = discord_bot, discord_bot.sandbox
    rid, first, _ = await open_round(h)
    for n in range(3):
        await sb.user_replies(h.person("chloe"), h.channel_id, first["broadband"], f"Idée {n}")
    await h.settle()
    dan = h.person("dan")
    vote = await h.run("dan", "vote")
    assert len(await vote_through(h, dan, vote.record.original_id, "pass")) == 5

    message, text, found = await mine(h, "dan", locale="fr")
    assert "Tour n°" in text and "(1 à 4 sur 5)" in text and "vote privé" in text
    assert found[-1] == f"planbot:mine-page:{rid}:1"
    assert len(found) == 4 * 3 + 1  # four stances, three buttons each, then "Suivantes"
    await sb.user_clicks_ephemeral(dan, message, f"planbot:mine-page:{rid}:1")
    await h.settle()
    text, found = card(sb, message)  # a click comes in dan's own locale: English
    assert "(5–5 of 5)" in text and "5. Reply “Idée" in text
    assert found[-1] == f"planbot:mine-page:{rid}:0"
    change = next(f for f in found if f.endswith(":agree:1"))
    await sb.user_clicks_ephemeral(dan, message, change)
    await h.settle()
    assert "Done" in card(sb, message)[0]
    counts = {c.text: c.agree for c in h.core.store.statement_counts(rid) if c.kind == "reply"}
    assert sum(counts.values()) == 1


async def test_my_stances_outside_a_round_answers_privately(discord_bot):
    h = discord_bot
    answer = await h.run("bob", "my-stances")
    assert answer.ephemeral and "planbot:" not in repr(answer.record.messages)
    assert "No round" in answer.text
