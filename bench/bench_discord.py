"""Benchmark: a burst of reaction events through the local Discord gateway into the store.

A round over the sample plan is opened on the local Discord by the real discord.py bot; then
``--events`` MESSAGE_REACTION_ADD / _REMOVE dispatches (members adding, changing and taking back
stances on every section) go through the gateway websocket. The clock runs from the first
dispatch until the bot has read them all (a heartbeat request answered) and no handler is in
flight: every event is then captured (recorded in the inbox; applied after, in batches). The
same burst then goes to the same bot whose handler does nothing (same gateway, same
discord.py parsing and translation, no store), in the same process. Reported: events per
second of both and their ratio (goal: at least 0.5), and how long until every event was also
applied. A last figure applies the same burst, as neutral events, straight to ``Core.handle``
with no Discord at all: the ceiling the store sets for capture and application together.

As ``planbot run`` does once started (``bot/service/run.py``), what start-up built is moved
out of the garbage collector's sight with ``gc.freeze()`` before each measured burst, for the
do-nothing bot and planbot alike (``bench_slack.py`` does the same), so that neither pays for
full collections walking the start-up's objects that the product does not pay for.

    .venv/bin/python bench/bench_discord.py [--events 2000] [--members 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import make_core

from bot.events import Actor, Emoji, ReactionAdded, ReactionRemoved
from bot.platform import ChannelRef, PostedMessage
from integrations.discord import PlanbotDiscord
from integrations.sandbox.discord import DiscordSandbox, discord_py_pointed_at

STANCES = ("👍", "👎", "🤷", "👍🏽")


class DoNothingBot(PlanbotDiscord):
    """The baseline: every event is received, parsed and translated, then dropped."""

    async def _handle(self, event) -> None:
        return None


async def run_once(bot_cls: type[PlanbotDiscord], events: int, members: int,
                   database_url: str | None) -> tuple[float, float]:
    """Events per second for one burst into a bot of class ``bot_cls``: captured, and
    captured and applied."""
    with tempfile.TemporaryDirectory() as tmp:
        async with DiscordSandbox() as sb:
            with discord_py_pointed_at(sb):
                core = make_core(Path(tmp), database_url,
                                 discord_facilitator_role_ids=frozenset({sb.facilitator_role.id}))
                bot = bot_cls(core, guild_ids=frozenset({sb.guild.id}), reidentify_delay=0, guild_ready_timeout=0.05)
                task = asyncio.create_task(bot.start(sb.token))
                try:
                    await asyncio.wait_for(bot.wait_until_reconciled(1), 10)
                    alice = sb.people["alice"].id
                    await sb.user_runs_command(alice, sb.channel.id, "open", plan="sample")
                    # The bot's messages planbot knows: sections, not the announcement.
                    sections = [m.id for m in sb.messages(sb.channel.id) if m.author.bot
                                and core.store.find_message("discord", sb.channel.id, m.id)]
                    people = []
                    for i in range(members):
                        people.append(sb.add_person(f"member{i}").id)
                    plan = list(_burst(people, sections, events))
                    await sb.gateway.barrier()
                    await bot.wait_until_idle()
                    gc.freeze()  # as planbot run does once started (module docstring)

                    start = time.perf_counter()
                    for add, user, message, emoji in plan:
                        if add:
                            await sb.user_reacts(user, sb.channel.id, message, emoji)
                        else:
                            await sb.user_unreacts(user, sb.channel.id, message, emoji)
                    await sb.gateway.barrier()
                    await bot.wait_until_captured()
                    elapsed = time.perf_counter() - start
                    await core.settle()
                    settled = time.perf_counter() - start
                    if task.done():
                        raise RuntimeError(f"client died: {task.exception()!r}")
                    return len(plan) / elapsed, len(plan) / settled
                finally:
                    await bot.close()
                    await task
                    core.close()


class _Posting:
    """Just enough of a ChatPlatform to open a round without any chat server."""

    name = "discord"

    def __init__(self) -> None:
        self._ids = itertools.count(10**17)

    async def finish_section(self, channel, message_id, section):
        pass

    async def post_section(self, channel, section, on_posted=None):
        mid = str(next(self._ids))
        return [PostedMessage(channel, mid, mid, 0)]

    async def post_notice(self, channel, text):
        mid = str(next(self._ids))
        return [PostedMessage(channel, mid, None, 0)]


async def run_store_only(events: int, members: int, database_url: str | None) -> float:
    """Events per second for the same burst applied straight to the core (no Discord)."""
    with tempfile.TemporaryDirectory() as tmp:
        core = make_core(Path(tmp), database_url,
                         discord_facilitator_role_ids=frozenset({"role"}))
        try:
            channel = ChannelRef("discord", "1", "2")
            await core.rounds.open(plan="sample", channel=channel, platform=_Posting())
            rid = core.store.round_for_channel("discord", "2", open_only=True)
            sections = [m.message_id for m in core.store.round_messages(rid, "discord")]
            people = [str(10**18 + i) for i in range(members)]
            now = core.clock.now()
            neutral = [
                (ReactionAdded if add else ReactionRemoved)(
                    platform="discord", workspace_id="1", channel_id="2", occurred_at=now,
                    actor=Actor(user), message_id=message, emoji=Emoji(emoji))
                for add, user, message, emoji in _burst(people, sections, events)
            ]
            start = time.perf_counter()
            await asyncio.gather(*(core.handle(e) for e in neutral))
            return len(neutral) / (time.perf_counter() - start)
        finally:
            core.close()


def _burst(people: list[str], sections: list[str], events: int):
    """(add?, user, message, emoji): each member adds a stance, sometimes changes it
    (add the new one, remove the old one) or takes it back; exactly ``events`` entries."""
    held: dict[tuple[str, str], str] = {}
    count = 0
    for step in itertools.count():
        user = people[step % len(people)]
        message = sections[(step // len(people)) % len(sections)]
        emoji = STANCES[(step * 7 + step // len(people)) % len(STANCES)]
        old = held.get((user, message))
        if old == emoji:
            yield False, user, message, emoji
            del held[(user, message)]
            count += 1
        else:
            yield True, user, message, emoji
            held[(user, message)] = emoji
            count += 1
            if old is not None and count < events:
                yield False, user, message, old
                count += 1
        if count >= events:
            return


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()

    baseline, _ = await run_once(DoNothingBot, args.events, args.members, args.database_url)
    planbot, applied = await run_once(PlanbotDiscord, args.events, args.members,
                                      args.database_url)
    store_only = await run_store_only(args.events, args.members, args.database_url)
    print(f"events: {args.events} reaction adds/removes from {args.members} members")
    print(f"do-nothing handler         : {baseline:9.0f} events/s")
    print(f"planbot into inbox         : {planbot:9.0f} events/s")
    print(f"ratio                      : {planbot / baseline:9.2f}  (goal >= 0.50)")
    print(f"planbot, until all applied : {applied:9.0f} events/s")
    print(f"store alone (no Discord)   : {store_only:9.0f} events/s  (captured and applied)")


if __name__ == "__main__":
    asyncio.run(main())
