"""Benchmark: storing and copying each new reply as a round grows to thousands of replies.

A round over the sample plan is opened in two channels (in memory, no chat library); then
``--replies`` replies, each by a new participant, go one by one through ``Core.handle`` and
the relay copies each into the other channel. Reported, per block of ``--block`` replies:
milliseconds per reply (stored and copied). Issue 10 measured the last 2,000 of 4,000
replies taking over 3 minutes when each copy scanned the whole round; the aim is a flat
cost: the last block within 1.5 times the first.

    .venv/bin/python bench/bench_relay.py [--replies 4000] [--block 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import make_core

from bot.events import Actor, ReplyPosted
from bot.platform import ChannelRef
from tests.helpers import RecordingPlatform


async def run(replies: int, block: int, database_url: str | None) -> list[float]:
    """Milliseconds per reply of each block."""
    with tempfile.TemporaryDirectory() as tmp:
        core = make_core(Path(tmp), database_url)
        platform = RecordingPlatform()
        core.attach(platform)
        await core.rounds.open(plan="sample", channel=ChannelRef("discord", "g", "c1"),
                               platform=platform)
        await core.rounds.open(plan="sample", channel=ChannelRef("discord", "g", "c2"),
                               platform=platform)
        await core.settle_relays()
        thread = "1000"  # the first section's thread in c1
        costs = []
        for start in range(0, replies, block):
            began = time.perf_counter()
            for i in range(start, min(start + block, replies)):
                await core.handle(ReplyPosted(
                    platform="discord", workspace_id="g", channel_id=thread,
                    occurred_at=core.clock.now(), actor=Actor(f"u{i}"),
                    message_id=str(10_000 + i), thread_id=thread, text=f"reply {i}"))
                await core.settle_relays()
            costs.append((time.perf_counter() - began) * 1000 / block)
        assert len(platform.copies) == replies, len(platform.copies)
        core.close()
        return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=4000)
    parser.add_argument("--block", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    costs = asyncio.run(run(args.replies, args.block, args.database_url))
    for n, ms in enumerate(costs):
        print(f"replies {n * args.block + 1:>6}-{(n + 1) * args.block:<6} {ms:7.2f} ms/reply")
    print(f"last block / first block: {costs[-1] / costs[0]:.2f} (aim: at most 1.5)")


if __name__ == "__main__":
    main()
