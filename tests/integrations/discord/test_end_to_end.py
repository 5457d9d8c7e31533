"""The real discord.py bot against the local Discord: rounds, stances, replies, refusals."""

from __future__ import annotations

AGREE, DISAGREE, PASS = "👍", "👎", "🤷"


async def test_facilitator_opens_round(discord_bot):
    h = discord_bot
    answer = await h.run("alice", "open", plan="sample", sections="broadband,digital-skills")
    print(answer)
    assert answer.ephemeral
    rid = h.round_id()
    print(h.posted_sections(rid))
