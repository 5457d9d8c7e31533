"""Benchmark: signed Events API bursts through the Slack adapter (HTTP mode) into the store.

A round over the sample plan is opened on the local Slack; then ``--events`` signed
``reaction_added`` / thread-reply requests (a tenth of them sent twice, as Slack retries
with ``X-Slack-Retry-Num: 1``) are POSTed ``--concurrency`` at a time to planbot's request
URL (``integrations.slack.events.EventsEndpoint``: signature check, then the event recorded
in the inbox before the answer). The baseline, measured in the same process, is the same
endpoint whose handler does nothing (same HTTP server, signature check and JSON parsing):
reported are events per second and acknowledgement latency (median, p99) of both, and their
ratio (goals: p99 at most 1.5x, throughput at least 0.5x), so the difference is the cost of
the record on the ack path. A second reference is a plain bolt app whose listeners do nothing
(bolt's own dispatch, which planbot's events no longer go through in HTTP mode: the
endpoint's docstring says why). Each server first gets the same ``WARM_UP`` other events (planbot
applies its own before the burst). The time until every event is also applied is reported last.

    .venv/bin/python bench/bench_slack.py [--events 2000] [--concurrency 32] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from aiohttp import web
from common import make_core
from slack_bolt.async_app import AsyncApp

from integrations.sandbox.slack import LocalSlack
from integrations.sandbox.slack.delivery import sign
from integrations.slack import SlackBot, make_web_client
from integrations.slack.events import EventsEndpoint, SlackEvents
from storage.store import Store

FACILITATOR, CHANNEL = "UFACIL", "C0BENCHPL"
REACTIONS = ("+1", "-1", "shrug", "+1::skin-tone-3", "heart", "eyes")
MEMBERS = 100
WARM_UP = 50
"""Events sent to each server before its measured burst (first requests pay for imports,
compiled statements and connections)."""


def members(slack: LocalSlack, count: int) -> list[str]:
    """``count`` people of the workspace (planbot learns at start whether each is a bot, from
    ``users.list``; one who joins later is looked up at their first reaction)."""
    people = [f"U{n:08d}" for n in range(count)]
    for user in people:
        slack.add_user(user, user.lower())
    return people


def sections(slack: LocalSlack, store: Store) -> list[str]:
    """The ts of the round's section messages in the bench channel: the bot's messages that
    the store knows (the opening announcement is not a section: a stance on it counts for
    nothing)."""
    return [m.ts for m in slack.messages(CHANNEL)
            if m.bot_id and store.find_message("slack", CHANNEL, m.ts) is not None]


def burst(slack: LocalSlack, section_ts: list[str], events: int,
          people: list[str]) -> list[dict]:
    """``events`` distinct event bodies from ``people`` in turn: each reaction is one the
    member has not added yet (it changes the store), every fifth event a reply; then a
    tenth of them again as retries."""
    bodies = []
    pairs = len(people) * len(section_ts)
    for n in range(events):
        ts = section_ts[(n // len(people)) % len(section_ts)]
        user = people[n % len(people)]
        if n % 5 == 4:
            event = {"type": "message", "user": user, "text": f"reply {n}", "channel": CHANNEL,
                     "ts": slack.workspace.next_ts(), "thread_ts": ts, "channel_type": "channel"}
        else:
            event = {"type": "reaction_added", "user": user, "reaction": REACTIONS[(n // pairs) % len(REACTIONS)],
                     "item": {"type": "message", "channel": CHANNEL, "ts": ts},
                     "event_ts": slack.workspace.next_ts()}
        bodies.append(slack.event_body(event))
    return bodies


def split(bodies: list[dict]) -> tuple[list[dict], list[dict]]:
    """(warm-up, burst): the first ``WARM_UP`` bodies and the rest."""
    return bodies[:WARM_UP], bodies[WARM_UP:]


async def fire(url: str | list[str], secret: str, bodies: list[dict], retries: list[dict],
               concurrency: int) -> tuple[float, list[float], int]:
    """POST every body signed (retries with ``X-Slack-Retry-Num``), round-robin over ``url``
    when it lists several (a load balancer); returns (seconds, per-request latencies in ms,
    non-2xx count)."""
    urls = [url] if isinstance(url, str) else url
    queue = [(b, 0) for b in bodies] + [(b, 1) for b in retries]
    latencies: list[float] = []
    failures = 0
    position = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal position, failures
        while position < len(queue):
            body, retry = queue[position]
            target = urls[position % len(urls)]
            position += 1
            raw = json.dumps(body).encode()
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": sign(secret, stamp, raw)}
            if retry:
                headers.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
            start = time.perf_counter()
            async with session.post(target, data=raw, headers=headers) as resp:
                await resp.read()
                failures += resp.status >= 300
            latencies.append((time.perf_counter() - start) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - start, latencies, failures


class DoNothingEvents(SlackEvents):
    """The baseline: every event reaches the handler, signed and parsed, then is dropped."""

    async def handle(self, body: dict) -> None:
        return None


async def serve(app: web.Application | web.Server) -> tuple[web.BaseRunner, str]:
    """Serve ``app`` (bolt's application, or planbot's low-level server) on a free port."""
    runner: web.BaseRunner = (web.AppRunner(app, access_log=None)
                              if isinstance(app, web.Application) else web.ServerRunner(app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"


def do_nothing_app(slack: LocalSlack) -> AsyncApp:
    app = AsyncApp(client=make_web_client(slack.bot_token, base_url=slack.base_url),
                   signing_secret=slack.signing_secret, process_before_response=True)

    async def nothing() -> None:
        return None

    for kind in ("reaction_added", "reaction_removed", "message"):
        app.event(kind)(nothing)
    return app


def summary(name: str, seconds: float, latencies: list[float], sent: int) -> tuple[float, float, float]:
    rate = sent / seconds
    median = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"{name:<24} {rate:>10.0f} ev/s   ack median {median:6.2f} ms   p99 {p99:6.2f} ms")
    return rate, median, p99


async def main(events: int, concurrency: int, database_url: str | None) -> None:
    slack = LocalSlack()
    await slack.start()
    slack.add_user(FACILITATOR, "fanny")
    slack.add_channel(CHANNEL, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        people = members(slack, MEMBERS)  # already in the workspace when planbot starts
        core = make_core(Path(tmp), database_url, slack_facilitator_ids=frozenset({FACILITATOR}))
        bot = SlackBot(core, make_web_client(slack.bot_token, base_url=slack.base_url),
                       signing_secret=slack.signing_secret)
        await bot.start("http")
        slack.use_http(bot.url)
        await bot.wait_until_reconciled(1)
        await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample")
        await slack.settle()
        section_ts = sections(slack, core.store)
        # The first WARM_UP events warm each server up (planbot's too, with its own events,
        # applied before the burst); the burst is the rest, the same for all three.
        warm, bodies = split(burst(slack, section_ts, events + WARM_UP, people))
        retries = bodies[:: 10]
        sent = len(bodies) + len(retries)
        print(f"{len(bodies)} events + {len(retries)} retries, {concurrency} at a time, "
              f"{len(section_ts)} sections")

        gc.freeze()  # as planbot run does once started (bot/service/run.py)
        bolt_runner, bolt_url = await serve(do_nothing_app(slack).web_app(path="/slack/events"))
        await fire(bolt_url, slack.signing_secret, warm, [], concurrency)
        bolt = await fire(bolt_url, slack.signing_secret, bodies, retries, concurrency)
        await bolt_runner.cleanup()
        nothing = DoNothingEvents(core, bot.platform, bot.directory, handle_budget=1.0,
                                  track=lambda task: None)
        runner, idle_url = await serve(
            EventsEndpoint(bot.app, slack.signing_secret, nothing).server("/slack/events"))
        await fire(idle_url, slack.signing_secret, warm, [], concurrency)
        base = await fire(idle_url, slack.signing_secret, bodies, retries, concurrency)
        await runner.cleanup()

        await fire(slack.delivery.http_url, slack.signing_secret, warm, [], concurrency)
        await core.settle()
        applied_before = core.intake.applied
        start = time.perf_counter()
        real = await fire(slack.delivery.http_url, slack.signing_secret, bodies, retries,
                          concurrency)
        await core.settle()
        settled = time.perf_counter() - start
        await bot.stop()
        applied = core.intake.applied - applied_before
        core.close()

    await slack.stop()
    summary("bolt app, no-op (ref.)", bolt[0], bolt[1], sent)
    b_rate, b_med, b_p99 = summary("endpoint, no-op", base[0], base[1], sent)
    r_rate, r_med, r_p99 = summary("planbot, into inbox", real[0], real[1], sent)
    print(f"ratio planbot / no-op: throughput {r_rate / b_rate:.2f}x (goal >= 0.50), "
          f"ack median {r_med / b_med:.2f}x, p99 {r_p99 / b_p99:.2f}x (goal <= 1.50)")
    print(f"every event applied {settled:.2f} s after the burst began "
          f"({len(bodies) / settled:.0f} events/s recorded and applied)")
    print(f"applied {applied} of {len(bodies)} distinct events "
          f"({len(retries)} retries recognised: {applied == len(bodies)}); "
          f"non-2xx answers: {bolt[2] + base[2] + real[2]}")
    if applied != len(bodies) or bolt[2] or base[2] or real[2]:
        raise SystemExit("benchmark run was not clean")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.concurrency, args.database_url))
