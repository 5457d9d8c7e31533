"""Rounds belong to the guild where they were opened (issue 10), with the real discord.py
bot in three guilds of the local Discord: another server's owner (Manage Server) cannot act
on a round and cannot tell it from one that does not exist; an invitation lets their server
join once, and expires."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.helpers import is_notice, make_core
from tests.integrations.discord.harness import start_bot, stop_bot

CODE = re.compile(r"`([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})`")


@pytest.fixture
async def three_guilds(sandbox, tmp_path):
    """The bot in the sandbox's guild (A) and in two others: B owned by zoe, C by yann."""
    _b, channel_b = sandbox.add_guild("Quartier Limoilou", "zoe", locale="en-US")
    _c, channel_c = sandbox.add_guild("Quartier Montcalm", "yann", locale="en-US")
    core = make_core(tmp_path, facilitator_ids=frozenset({sandbox.facilitator_role.id}))
    guilds = frozenset({sandbox.guild.id, channel_b.guild_id, channel_c.guild_id})
    harness = await start_bot(sandbox, core, guild_ids=guilds)
    yield harness, channel_b.id, channel_c.id
    await stop_bot(harness)
    core.close()


async def test_another_servers_owner_is_refused_then_joins_once_by_invitation(three_guilds):
    h, chan_b, chan_c = three_guilds
    sb = h.sandbox

    async def run(who: str, channel: str, action: str, **options: str) -> str:
        answer = await sb.user_runs_command(sb.people[who].id, channel, action, **options)
        await h.settle()
        assert answer.ephemeral
        return answer.text

    opened = await run("alice", h.channel_id, "open", plan="sample", sections="broadband")
    public_id = re.search(r"n° ([a-z0-9]{10}) ouvert", opened).group(1)
    round_id = h.round_id()
    # zoe holds Manage Server in B: in A's round she is told what an unknown id gets.
    for action in ("status", "close", "digest", "invite", "moderate"):
        refused = await run("zoe", chan_b, action, round=public_id)
        absent = await run("zoe", chan_b, action, round="zzzzzzzzzz")
        assert refused == absent.replace("zzzzzzzzzz", public_id) == f"No round #{public_id}."
        by_row = await run("zoe", chan_b, action, round=str(round_id))
        assert by_row == f"No round #{round_id}."
    bad = await run("zoe", chan_b, "open", plan="sample", join="abcd-efgh-jkmn")
    assert bad.startswith("This invitation code is unknown, expired or already used")
    assert h.core.store.get_round(round_id).status == "open"
    assert sb.messages(chan_b) == [] and h.core.store.digests(round_id) == []

    code = CODE.search(await run("alice", h.channel_id, "invite")).group(1)
    joined = await run("zoe", chan_b, "open", plan="sample", join=code)
    assert joined == (f"Round #{public_id} on this plan was already open (Discord): this "
                      f"channel joins it.\nRound #{public_id} opened: 1 section posted.")
    assert len([m for m in sb.messages(chan_b)
                if m.author.id == sb.world.bot.id and not is_notice(m.content)]) == 1
    assert (await run("zoe", chan_b, "status", round=public_id)).startswith(
        f"Round #{public_id} ")
    assert "opened in another server" in await run("zoe", chan_b, "close", round=public_id)
    # Once: the same code from a third server is worth nothing.
    again = await run("yann", chan_c, "open", plan="sample", join=code)
    assert again == bad
    # Expires: a new code, unused for two days and a minute, is worth nothing either.
    late = CODE.search(await run("alice", h.channel_id, "invite")).group(1)
    h.core.clock.advance(timedelta(hours=48, minutes=1))
    assert await run("yann", chan_c, "open", plan="sample", join=late) == bad
    assert sb.messages(chan_c) == []
    assert h.core.store.get_round(round_id).places == {
        ("discord", sb.guild.id), ("discord", sb.world.channels[chan_b].guild_id)}


async def test_a_round_is_never_posted_into_another_servers_channel(three_guilds):
    """``channel:`` names a channel of another server (a modified client can send any id,
    which the local Discord resolves as the real one would a visible channel): refused, and
    nothing is posted there, so that server's members' replies never feed another's round."""
    h, chan_b, _chan_c = three_guilds
    sb = h.sandbox
    before = len(sb.messages(h.channel_id))
    answer = await sb.user_runs_command(sb.people["zoe"].id, chan_b, "open", plan="sample",
                                        sections="broadband", channel=h.channel_id)
    await h.settle()
    # discord.py resolves a channel option within the interaction's guild only.
    assert answer.ephemeral and answer.text.startswith("Invalid option: ")
    assert len(sb.messages(h.channel_id)) == before
    assert h.core.store.rounds() == []
