"""Discord shards split across processes (``PLANBOT_DISCORD_SHARDS``): two adapters, each
with its own core on one store as two ``planbot run`` would be, run shards 0 and 1 of 2
against the local Discord, which routes a guild's events to shard ``(guild_id >> 22) % 2``
(docs: events/gateway#sharding). Each guild's round is opened, and its reactions stored,
by the process holding its shard, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings, parse_shards
from integrations.discord import DiscordAdapter
from integrations.sandbox.discord import DiscordSandbox
from tests.helpers import make_core

WAIT = 20.0


class Now:
    """The sandbox clock: snowflake ids carry its milliseconds, so moving it 1 ms moves a
    new guild to the other shard of two."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


async def test_two_processes_split_the_guilds_by_shard(tmp_path):
    now = Now()
    async with DiscordSandbox(now=now) as sandbox:
        gateway, world = sandbox.gateway, sandbox.world
        first = sandbox.guild
        now.at += timedelta(milliseconds=1)  # the next snowflake's millisecond: other parity
        second = world.add_guild("Vieux-Québec", sandbox.people["admin"])
        by_shard = sorted((first, second), key=lambda g: gateway.shard_of(g.id, 2))
        assert [gateway.shard_of(g.id, 2) for g in by_shard] == [0, 1]
        world.join(second, sandbox.people["alice"],
                   (world.add_role(second, "animation"),))
        channels = {first.id: sandbox.channel.id,
                    second.id: world.add_channel(second, "plan").id}
        roles = frozenset(r.id for g in (first, second) for r in g.roles.values()
                          if r.name == "animation")
        cores, adapters = [], []
        for shard in (0, 1):
            core = make_core(tmp_path, facilitator_ids=roles)
            cores.append(core)
            adapters.append(DiscordAdapter(
                core, sandbox.token, api_base=sandbox.api_base,
                gateway_url=sandbox.gateway_url, shards=((shard,), 2),
                guild_ids=frozenset(channels)))
        try:
            for adapter in adapters:
                await adapter.start()
                await adapter.wait_until_reconciled(1, WAIT)
            assert gateway.identified_shards == [(0, 2), (1, 2)]
            assert [[str(g.id) for g in a.bot.guilds] for a in adapters] == [
                [g.id] for g in by_shard]
            alice, bob = sandbox.people["alice"].id, sandbox.people["bob"].id
            world.join(second, sandbox.people["bob"])
            for channel in channels.values():
                await sandbox.user_runs_command(alice, channel, "open", plan="sample",
                                                sections="broadband")
                (section,) = [m.id for m in sandbox.messages(channel) if m.thread_id]
                await sandbox.user_reacts(bob, channel, section, "👍")
            await gateway.barrier()
            for adapter in adapters:
                await adapter.wait_until_idle(WAIT)
            store = cores[0].store
            for channel in channels.values():
                round_id = store.round_for_channel("discord", channel, open_only=True)
                assert store.stances_by_platform(round_id) == {"discord": 1}
        finally:
            for adapter in reversed(adapters):
                await adapter.stop()
            for core in cores:
                core.close()


def test_shard_settings():
    assert parse_shards("0,1/4") == ((0, 1), 4)
    assert parse_shards(" 3 / 4 ") == ((3,), 4)
    for bad in ("4/4", "0,0/2", "1", "a/2", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shards(bad)
    settings = Settings.load({"PLANBOT_HOME": "/tmp/planbot-shards-test",
                              "PARTICIPANT_SECRET": "s" * 24,
                              "PLANBOT_DISCORD_SHARDS": "1/2"}, env_file=None)
    assert settings.discord_shards == ((1,), 2)
