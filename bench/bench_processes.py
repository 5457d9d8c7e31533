"""Benchmark: capture rate of one and of two ``planbot run`` processes on one PostgreSQL.

Slack in HTTP mode behind a load balancer: each process is a real ``planbot run`` (a
subprocess) with its own PLANBOT_HOME and HTTP port, on one PostgreSQL database, talking to
the local Slack's Web API. A round over the sample plan is opened; then the same burst as
``bench_slack.py`` (``--events`` signed ``reaction_added`` / thread-reply requests, a tenth
sent again as retries) is POSTed ``--concurrency`` at a time, round-robin over the processes'
request URLs, first to one process alone, then (on a fresh schema) to two. Reported per run:
events acknowledged per second (capture), acknowledgement median and p99, the time until
every event is applied (the inbox empty), and where the CPU went during the burst (``cpu.py``:
this process, which generates the load and hosts the local Slack, each planbot process, the
PostgreSQL backends serving them, PostgreSQL's own processes, other processes on the machine,
idle). Then the ratio two / one (aim: at least 1.6), split into its two factors: how much
more CPU the planbot processes got, and how many events each planbot CPU second captured;
and the ceiling those CPU costs per event allow on this machine with nothing else running
(a planbot process at most one core, since its interpreter lock serialises its event loop
and its database thread; planbot, PostgreSQL and this process together at most every core).

The load is closed: ``--concurrency`` requests in flight, the next sent when one is
answered, so a run captures at most ``concurrency / acknowledgement latency`` events per
second whatever the CPU left (Little's law). Each planbot process records the requests
waiting at each turn in one commit: two processes sharing the same 32 requests record half
as many per commit, and pay each commit's fixed cost twice as often.

Both runs send the same requests the same way: built and signed before the clock starts and
written on keep-alive connections by ``rawload.py`` (``--client aiohttp``: through aiohttp's
client, as ``bench_slack.py`` does, at about four times the bench's CPU per request). An
event counts as captured when its 2xx answer is read, which planbot sends after the inbox row
is committed. After the burst the bench checks that every distinct event was applied exactly
once (one inbox row each, applied; one stance per distinct member, message and emoji and one
reply per message more in the store) and fails otherwise.

    .venv/bin/python bench/bench_processes.py [--events 4000] [--concurrency 32] [--rounds 1] \
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--client raw|aiohttp] \
        [--py-spy /tmp/tools/bin/py-spy --profile-dir DIR]

``--rounds N`` runs one and two processes alternately N times and ends with the medians: on
a machine shared with other users, whose load changes from one run to the next, a single
pair of runs can land one in a busy moment and the other in a quiet one.

``--profile-dir`` records each planbot process with py-spy during the burst (raw collapsed
stacks of the thread holding the interpreter lock, ``DIR/<processes>p-<n>.txt``); sampling
costs CPU, so the figures of such a run are not the benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from bench_slack import CHANNEL, FACILITATOR, MEMBERS, burst, fire, members, sections
from cpu import CORES, CpuMeter, Split
from rawload import blast, slack_burst

from bot.events import Emoji
from bot.plans import import_plan, sample_plan_paths
from bot.stances import emoji_key
from integrations.sandbox.slack import LocalSlack
from storage.db import create_store_engine, upgrade
from storage.store import Store

SECRET = "bench-secret-0123456789"
WAIT = 60.0


@dataclass
class Result:
    """One run: capture rate (events/s), ack median and p99 (ms), seconds until all applied,
    the CPU split of the burst, and the Web API calls the local Slack served meanwhile."""

    rate: float
    median: float
    p99: float
    applied: float
    split: Split
    slack_calls: int


@dataclass
class Options:
    events: int
    concurrency: int
    database_url: str
    client: str
    py_spy: str
    profile_dir: Path | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_schema(base: str) -> tuple[str, str]:
    """A database URL on a new, empty schema of ``base``, and the schema's name."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def postmaster_pid() -> int:
    """The PostgreSQL server's main process (the oldest one named ``postgres``)."""
    found = subprocess.run(["pgrep", "-o", "-x", "postgres"], capture_output=True, text=True,
                           check=True)
    return int(found.stdout.split()[0])


def cpu_meter(conn: psycopg.Connection, schema: str,
              procs: list[asyncio.subprocess.Process]) -> CpuMeter:
    """The parties of a run: this process (load generator and local Slack), each planbot
    process, the PostgreSQL backends serving them (by application name, which each
    process' DATABASE_URL sets) and PostgreSQL's own processes (postmaster, WAL writer,
    checkpointer...; shared with any other user of the server)."""
    def backends() -> list[int]:
        return [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"{schema}_p%",))]

    def server() -> list[int]:
        return [postmaster_pid()] + [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")]

    parties = {"bench (load + local Slack)": lambda: [os.getpid()]}
    for n, proc in enumerate(procs):
        parties[f"planbot {n}"] = lambda pid=proc.pid: [pid]
    parties["PostgreSQL backends"] = backends
    parties["PostgreSQL server processes"] = server
    return CpuMeter(parties)


def store_counts(conn: psycopg.Connection, schema: str) -> tuple[int, int]:
    """(stances, replies) in the run's schema."""
    stances = conn.execute(f"SELECT count(*) FROM {schema}.stances").fetchone()
    replies = conn.execute(f"SELECT count(*) FROM {schema}.statements WHERE kind = 'reply'"
                           ).fetchone()
    assert stances is not None and replies is not None
    return stances[0], replies[0]


def check_applied_once(conn: psycopg.Connection, schema: str, bodies: list[dict],
                       before: tuple[int, int]) -> None:
    """Raise ``SystemExit`` unless each distinct event of ``bodies`` has one inbox row,
    applied (``changed``, or ``unchanged`` for a reaction the member already gave in
    another spelling, ``+1::skin-tone-3`` after ``+1``), and the store holds one stance per
    distinct (member, message, emoji) and one reply per message more than ``before``."""
    keys = [f"id:slack:{b['event_id']}" for b in bodies]  # bot.wire.delivery_key
    outcomes = dict(conn.execute(
        f"SELECT coalesce(outcome, 'pending'), count(*) FROM {schema}.inbox "
        "WHERE platform = 'slack' AND delivery_key = ANY(%s) GROUP BY 1", (keys,)).fetchall())
    reactions = [b["event"] for b in bodies if b["event"]["type"] == "reaction_added"]
    stances = len({(e["user"], e["item"]["ts"], emoji_key(Emoji(e["reaction"])))
                   for e in reactions})
    replies = len(bodies) - len(reactions)
    expected = {"changed": stances + replies, "unchanged": len(reactions) - stances}
    now = store_counts(conn, schema)
    grew = (now[0] - before[0], now[1] - before[1])
    if {k: v for k, v in outcomes.items() if v} != {k: v for k, v in expected.items() if v} \
            or grew != (stances, replies):
        raise SystemExit(f"not applied exactly once: inbox outcomes {outcomes}, expected "
                         f"{expected}; stances and replies grew by {grew}, expected "
                         f"{(stances, replies)}")


async def start_process(env: dict[str, str], cwd: Path,
                        drains: list[asyncio.Task[bytes]]) -> asyncio.subprocess.Process:
    """``planbot run`` with ``env``, once it says it runs; its log is read to the end by a
    task added to ``drains``, so that it never waits on a full pipe."""
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
    assert proc.stderr is not None
    drains.append(asyncio.create_task(proc.stderr.read()))
    return proc


def profilers(opts: Options, procs: list[asyncio.subprocess.Process]) -> list[subprocess.Popen]:
    """py-spy recording each planbot process until interrupted (``--profile-dir``)."""
    if opts.profile_dir is None:
        return []
    opts.profile_dir.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen(
        [opts.py_spy, "record", "--pid", str(p.pid), "--rate", "250", "--nonblocking", "--gil",
         "--format", "raw", "-o", str(opts.profile_dir / f"{len(procs)}p-{n}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n, p in enumerate(procs)]


async def send(opts: Options, urls: list[str], secret: str, bodies: list[dict],
               retries: list[dict]) -> tuple[float, list[float], int]:
    if opts.client == "aiohttp":
        return await fire(urls, secret, bodies, retries, opts.concurrency)
    return await blast(urls, slack_burst(urls, secret, bodies, retries), opts.concurrency)


async def run(processes: int, opts: Options) -> Result:
    """One run with ``processes`` planbot processes on a fresh schema."""
    url, schema = fresh_schema(opts.database_url)
    store = Store(create_store_engine(url))
    upgrade(store.engine)
    import_plan(store, sample_plan_paths(), datetime.now(UTC))
    slack = LocalSlack()
    await slack.start()
    slack.add_user(FACILITATOR, "fanny")
    slack.add_channel(CHANNEL, "bench")
    people = members(slack, MEMBERS)  # already in the workspace when planbot starts
    procs: list[asyncio.subprocess.Process] = []
    drains: list[asyncio.Task[bytes]] = []
    conn = psycopg.connect(opts.database_url, autocommit=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = []
            for n in range(processes):
                port = free_port()
                keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
                env = {**keep, "PLANBOT_HOME": f"{tmp}/home{n}",
                       "DATABASE_URL": f"{url}&application_name={schema}_p{n}",
                       "PARTICIPANT_SECRET": SECRET, "SLACK_BOT_TOKEN": slack.bot_token,
                       "SLACK_SIGNING_SECRET": slack.signing_secret, "SLACK_MODE": "http",
                       "SLACK_PORT": str(port), "SLACK_API_BASE": slack.base_url,
                       "SLACK_FACILITATOR_IDS": FACILITATOR, "LOG_LEVEL": "INFO"}
                procs.append(await start_process(env, Path(tmp), drains))
                urls.append(f"http://127.0.0.1:{port}/slack/events")
            slack.use_http(urls[0])
            await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample")
            await slack.settle()
            section_ts = sections(slack, store)
            bodies = burst(slack, section_ts, opts.events, people)
            retries = bodies[::10]
            before = store_counts(conn, schema)
            await send(opts, urls, slack.signing_secret, bodies[-50:], [])  # warm-up
            meter = cpu_meter(conn, schema, procs)
            spies = profilers(opts, procs)
            calls = len(slack.requests)
            meter.start()
            start = time.perf_counter()
            seconds, latencies, failures = await send(opts, urls, slack.signing_secret,
                                                      bodies, retries)
            split = meter.stop()
            calls = len(slack.requests) - calls
            for spy in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait()
            while store.inbox_pending():  # noqa: ASYNC110 - other processes apply: poll the store
                await asyncio.sleep(0.05)
            applied = time.perf_counter() - start
            if failures:
                raise SystemExit(f"{failures} requests were not acknowledged")
            check_applied_once(conn, schema, bodies, before)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()
        await asyncio.gather(*drains)
        await slack.stop()
        store.engine.dispose()
        conn.close()
        drop_schema(opts.database_url, schema)
    return Result((len(bodies) + len(retries)) / seconds, statistics.median(latencies),
                  statistics.quantiles(latencies, n=100)[98], applied, split, calls)


def report(processes: int, result: Result, sent: int) -> None:
    print(f"{processes} process(es): {result.rate:7.0f} events/s captured   ack median "
          f"{result.median:6.2f} ms  p99 {result.p99:6.2f} ms   all applied (exactly once) "
          f"after {result.applied:5.2f} s")
    print(f"  CPU during the burst ({result.split.wall:.2f} s on {CORES} cores; the local Slack "
          f"served {result.slack_calls} Web API calls meanwhile):")
    for line in result.split.lines(sent, [f"planbot {n}" for n in range(processes)]):
        print(line)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--client", choices=("raw", "aiohttp"), default="raw")
    parser.add_argument("--py-spy", default="py-spy")
    parser.add_argument("--profile-dir", type=Path, default=None)
    args = parser.parse_args()
    opts = Options(args.events, args.concurrency, args.database_url, args.client, args.py_spy,
                   args.profile_dir)
    sent = args.events + len(range(0, args.events, 10))
    rounds: list[dict[int, Result]] = []
    for number in range(args.rounds):
        if args.rounds > 1:
            print(f"round {number + 1} of {args.rounds}")
        results = {}
        for processes in (1, 2):
            results[processes] = await run(processes, opts)
            report(processes, results[processes], sent)
        compare(results, sent)
        rounds.append(results)
    if args.rounds > 1:
        rates = {n: statistics.median(r[n].rate for r in rounds) for n in (1, 2)}
        ratios = ", ".join(f"{r[2].rate / r[1].rate:.2f}x" for r in rounds)
        print(f"over {args.rounds} rounds, one and two alternating: median {rates[1]:.0f} and "
              f"{rates[2]:.0f} events/s, {rates[2] / rates[1]:.2f}x (rounds: {ratios})")


def compare(results: dict[int, Result], sent: int) -> None:
    """Print the ratio two / one, its two factors and the ceiling (module docstring)."""
    one, two = results[1], results[2]
    names = {n: [f"planbot {k}" for k in range(n)] for n in (1, 2)}
    cores = {n: results[n].split.cores(names[n]) for n in (1, 2)}
    per_cpu = {n: results[n].split.per_cpu(sent, names[n]) for n in (1, 2)}
    print(f"capture rate two / one: {two.rate / one.rate:.2f}x (aim >= 1.6)")
    print(f"  = CPU the planbot processes got, two / one: {cores[2]:.2f} / {cores[1]:.2f} cores "
          f"({cores[2] / cores[1]:.2f}x)")
    print(f"  x events captured per planbot CPU second, two / one: {per_cpu[2]:.0f} / "
          f"{per_cpu[1]:.0f} ({per_cpu[2] / per_cpu[1]:.2f}x)")
    ceiling = {n: ceiling_rate(n, results[n].split, sent) for n in (1, 2)}
    print(f"ceiling at these CPU costs per event on {CORES} cores with nothing else running "
          f"(a planbot process uses at most one core, its interpreter lock): one "
          f"{ceiling[1]:.0f}, two {ceiling[2]:.0f} events/s ({ceiling[2] / ceiling[1]:.2f}x)")


def ceiling_rate(processes: int, split: Split, sent: int) -> float:
    """Events/s the run could reach if CPU were the only limit and nothing else ran: each
    planbot process at most one core, and planbot, this process and PostgreSQL together at
    most every core, at the CPU seconds per event they spent in ``split``."""
    planbot = sum(split.parties[f"planbot {n}"] for n in range(processes)) / sent
    rest = sum(sec for name, sec in split.parties.items() if not name.startswith("planbot"))
    return min(processes / planbot, CORES / (planbot + rest / sent))


if __name__ == "__main__":
    asyncio.run(main())
