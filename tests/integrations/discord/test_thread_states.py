"""Issue 11: the store follows each section thread's state from THREAD_UPDATE (archived by
inactivity on the local Discord's clock or by a moderator, unarchived, locked); the real
discord.py against the local Discord."""

from __future__ import annotations

from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at
from tests.helpers import make_core
from tests.integrations.conformance import discord_problems
from tests.integrations.discord.harness import start_bot, stop_bot
from tests.integrations.discord.test_end_to_end import open_two
from tests.integrations.sandbox.client import Clock


async def test_archives_unarchives_and_locks_are_recorded_in_the_store(tmp_path):
    clock = Clock()
    async with DiscordSandbox(now=clock) as sb:
        with discord_py_pointed_at(sb):
            core = make_core(tmp_path, facilitator_ids=frozenset({sb.facilitator_role.id}))
            h = await start_bot(sb, core)
            try:
                _, first = await open_two(h)
                bb, ds = first["broadband"], first["digital-skills"]

                def states() -> tuple[str | None, str | None]:
                    return (core.store.thread_state("discord", bb),
                            core.store.thread_state("discord", ds))

                assert states() == ("open", "open")
                await sb.moderator_archives_thread(bb)
                await h.settle()
                assert states() == ("archived", "open")
                await sb.moderator_archives_thread(bb, archived=False)
                await h.settle()
                assert states() == ("open", "open")
                clock.advance(minutes=3 * 24 * 60 + 1)  # the default auto-archive duration
                await sb.catch_up()
                await h.settle()
                assert (sb.world.channels[bb].archived, sb.world.channels[ds].archived) == \
                    (True, True)
                assert states() == ("archived", "archived")
                await sb.moderator_archives_thread(ds, locked=True)
                await h.settle()
                assert states() == ("archived", "locked")
            finally:
                await stop_bot(h)
                core.close()
        assert sb.unknown_requests() == []
        assert discord_problems(sb.requests) == []
