"""Benchmark: capture rate of one and of two ``planbot run`` processes on one PostgreSQL.

Slack in HTTP mode behind a load balancer: each process is a real ``planbot run`` (a
subprocess) with its own PLANBOT_HOME and HTTP port, on one PostgreSQL database, talking to
the local Slack's Web API. A round over the sample plan is opened; then the same burst as
``bench_slack.py`` (``--events`` signed ``reaction_added`` / thread-reply requests, a tenth
sent again as retries) is POSTed ``--concurrency`` at a time, round-robin over the processes'
request URLs, first to one process alone, then (on a fresh schema) to two. Reported per run:
events acknowledged per second (capture), acknowledgement median and p99, and the time until
every event is applied (the inbox empty); then the ratio two / one (aim: at least 1.6).

    .venv/bin/python bench/bench_processes.py [--events 4000] [--concurrency 32] \
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_slack import CHANNEL, FACILITATOR, MEMBERS, burst, fire, members, sections

from bot.plans import import_plan, sample_plan_paths
from integrations.sandbox.slack import LocalSlack
from storage.db import create_store_engine, upgrade
from storage.store import Store

SECRET = "bench-secret-0123456789"
WAIT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_schema(base: str) -> tuple[str, str]:
    """A database URL on a new, empty schema of ``base``, and the schema's name."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def start_process(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)

    async def running() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            if b"planbot running" in line:
                return
        raise RuntimeError("planbot run ended before it ran")

    await asyncio.wait_for(running(), WAIT)
    return proc


async def run(processes: int, events: int, concurrency: int, base: str) -> tuple[float, ...]:
    """(capture events/s, ack median ms, ack p99 ms, seconds until all applied)."""
    url, schema = fresh_schema(base)
    store = Store(create_store_engine(url))
    upgrade(store.engine)
    import_plan(store, sample_plan_paths(), datetime.now(UTC))
    slack = LocalSlack()
    await slack.start()
    slack.add_user(FACILITATOR, "fanny")
    slack.add_channel(CHANNEL, "bench")
    people = members(slack, MEMBERS)  # already in the workspace when planbot starts
    procs: list[asyncio.subprocess.Process] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = []
            for n in range(processes):
                port = free_port()
                keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
                env = {**keep, "PLANBOT_HOME": f"{tmp}/home{n}", "DATABASE_URL": url,
                       "PARTICIPANT_SECRET": SECRET, "SLACK_BOT_TOKEN": slack.bot_token,
                       "SLACK_SIGNING_SECRET": slack.signing_secret, "SLACK_MODE": "http",
                       "SLACK_PORT": str(port), "SLACK_API_BASE": slack.base_url,
                       "SLACK_FACILITATOR_IDS": FACILITATOR, "LOG_LEVEL": "INFO"}
                procs.append(await start_process(env, Path(tmp)))
                urls.append(f"http://127.0.0.1:{port}/slack/events")
            slack.use_http(urls[0])
            await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample")
            await slack.settle()
            section_ts = sections(slack, store)
            bodies = burst(slack, section_ts, events, people)
            retries = bodies[::10]
            await fire(urls, slack.signing_secret, bodies[-50:], [], concurrency)  # warm-up
            start = time.perf_counter()
            seconds, latencies, failures = await fire(urls, slack.signing_secret, bodies,
                                                      retries, concurrency)
            while store.inbox_pending():  # noqa: ASYNC110 - other processes apply: poll the store
                await asyncio.sleep(0.05)
            applied = time.perf_counter() - start
            if failures:
                raise SystemExit(f"{failures} requests were not acknowledged")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()
        await slack.stop()
        store.engine.dispose()
        drop_schema(base, schema)
    rate = (len(bodies) + len(retries)) / seconds
    return (rate, statistics.median(latencies),
            statistics.quantiles(latencies, n=100)[98], applied)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = {}
    for processes in (1, 2):
        results[processes] = await run(processes, args.events, args.concurrency,
                                       args.database_url)
        rate, median, p99, applied = results[processes]
        print(f"{processes} process(es): {rate:7.0f} events/s captured   ack median "
              f"{median:6.2f} ms  p99 {p99:6.2f} ms   all applied after {applied:5.2f} s")
    print(f"capture rate two / one: {results[2][0] / results[1][0]:.2f}x (aim >= 1.6)")


if __name__ == "__main__":
    asyncio.run(main())
