"""``planbot run`` as a real process: nothing configured exits 2 with help; SIGTERM during a
burst of Slack events loses nothing acknowledged and doubles nothing after a restart; logs are
JSON lines on request and never carry tokens."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime

from bot.plans import import_plan, sample_plan_paths
from integrations.sandbox.slack import LocalSlack
from tests.helpers import make_store

WAIT = 30.0
FACILITATOR, CHANNEL = "UFACIL", "C0PLAN"
SECRET = "run-test-secret-0123456789"
SECTIONS = "broadband,digital-skills,public-services"
NAMES = ("+1", "-1", "shrug")
STANCE = {"+1": "agree", "-1": "disagree", "shrug": "pass"}


def base_env(tmp_path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "PLANBOT_DATA_DIR": str(tmp_path / "data"), "PARTICIPANT_SECRET": SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'planbot.db'}"}


async def planbot(args: list[str], env: dict[str, str], cwd, stderr_path):
    with open(stderr_path, "ab") as err:  # noqa: ASYNC230 - opening a log file, not I/O-bound
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
            stdout=asyncio.subprocess.PIPE, stderr=err)


async def test_run_without_platforms_explains_and_exits_2(tmp_path):
    proc = await planbot(["run"], base_env(tmp_path), tmp_path, tmp_path / "stderr.log")
    await asyncio.wait_for(proc.wait(), WAIT)
    message = (tmp_path / "stderr.log").read_text()
    assert proc.returncode == 2
    assert "DISCORD_TOKEN" in message and "SLACK_BOT_TOKEN" in message
    assert "planbot demo" in message


async def test_sigterm_during_a_burst_loses_nothing_acknowledged(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'planbot.db'}")
    import_plan(store, sample_plan_paths(), datetime.now(UTC))
    slack = LocalSlack()
    await slack.start()
    people = [f"U{i:03d}" for i in range(60)]
    for user in [FACILITATOR, *people]:
        slack.add_user(user, user.lower(), locale="en-US")
    slack.add_channel(CHANNEL, "plan")
    env = {**base_env(tmp_path), "SLACK_BOT_TOKEN": slack.bot_token,
           "SLACK_APP_TOKEN": slack.app_token, "SLACK_MODE": "socket",
           "SLACK_API_BASE": slack.base_url, "SLACK_FACILITATOR_IDS": FACILITATOR,
           "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    log = tmp_path / "stderr.log"
    try:
        proc = await planbot(["run"], env, tmp_path, log)
        await slack.wait_connected(timeout=WAIT)
        answer = await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample",
                                               sections=SECTIONS)
        assert "3" in answer.text
        await slack.settle()
        sections = [m.ts for m in slack.messages(CHANNEL) if m.bot_id]
        assert len(sections) == 3

        # A burst: every person takes a stance on every section, 20 at a time; SIGTERM once
        # a third of them are acknowledged.
        burst = [(u, ts, NAMES[(i + j) % 3]) for i, u in enumerate(people)
                 for j, ts in enumerate(sections)]
        acked: list[tuple[str, str, str]] = []
        gate = asyncio.Semaphore(20)

        async def react(user, ts, name):
            async with gate:
                result = await slack.user_reacts(user, CHANNEL, ts, name)
            if result is not None and result.acked:
                acked.append((user, ts, name))
                if len(acked) == len(burst) // 3:
                    proc.send_signal(signal.SIGTERM)

        await asyncio.gather(*(react(*r) for r in burst))
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
        assert len(burst) // 3 <= len(acked) < len(burst), "the burst was not cut off"

        # Restart: the start-up reconciliation reads what was missed while down.
        proc = await planbot(["run"], env, tmp_path, log)
        await slack.wait_connected(timeout=WAIT)
        await slack.user_runs_command(FACILITATOR, CHANNEL, "status")
        proc.send_signal(signal.SIGTERM)  # a clean stop waits for the reconciliation
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await slack.stop()

    round_id = store.round_for_channel("slack", CHANNEL, open_only=True)
    section_of = {mid: sid for sid, _w, _c, mid, _t, part, kind
                  in store.round_messages(round_id, "slack") if kind == "section" and part == 0}
    triples, _, _ = store.vote_triples(round_id)
    # Every stance of the burst (acknowledged or recovered by reconciliation), none twice.
    assert len(triples) == len({(p, s) for p, s, _v in triples}) == len(burst)
    assert store.participation(round_id) == {"slack": len(people), "all": len(people)}
    counts = {row["id"]: row for row in store.statement_counts(round_id)}
    for ts in sections:
        row = counts[section_of[ts]]
        expected = {s: sum(1 for _u, t, n in burst if t == ts and STANCE[n] == s)
                    for s in ("agree", "disagree", "pass")}
        assert {s: row[s] for s in expected} == expected

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is a JSON object
    assert any(r["message"] == "stopped" for r in records)
    assert slack.bot_token not in log.read_text() and slack.app_token not in log.read_text()
