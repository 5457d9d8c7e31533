"""``planbot run`` as a real process: nothing configured exits 2 with help; SIGTERM during a
burst of events (local Slack in Socket Mode, local Discord over its gateway) loses nothing
acknowledged and doubles nothing after a restart; logs are JSON lines on request and never
carry tokens; a token the platform refuses stops the start with exit status 2 and a message
naming the key; SIGTERM during a start-up that hangs ends it at once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime

import pytest

from bot.plans import import_plan, sample_plan_paths
from bot.service.run import serve
from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.slack import LocalSlack
from tests.helpers import is_notice, make_settings, make_store

WAIT = 30.0
SECRET = "run-test-secret-0123456789"
SECTIONS = "broadband,digital-skills,public-services"
STANCES = ("agree", "disagree", "pass")


def base_env(tmp_path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "PLANBOT_HOME": str(tmp_path / "data"), "PARTICIPANT_SECRET": SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'planbot.db'}", "LOG_FORMAT": "json"}


class PlanbotProcess:
    """``python -m bot <args>`` in a subprocess; its stderr lines are collected as they come,
    so a test can wait for a log line (an event, not a sleep)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._seen = asyncio.Condition()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, args: list[str], env: dict[str, str], cwd) -> PlanbotProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        async for raw in self.proc.stderr:
            async with self._seen:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._seen.notify_all()

    async def wait_log(self, text: str, count: int = 1) -> None:
        async def _wait() -> None:
            async with self._seen:
                await self._seen.wait_for(lambda: sum(text in ln for ln in self.lines) >= count)
        await asyncio.wait_for(_wait(), WAIT)

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await self.wait()

    async def wait(self) -> int:
        code = await asyncio.wait_for(self.proc.wait(), WAIT)
        await self._reader
        return code

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.strip()]


def sample_store(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'planbot.db'}")
    import_plan(store, sample_plan_paths(), datetime.now(UTC))
    return store


def check_store(store, platform: str, channel: str, burst, people: int) -> None:
    """Every stance of the burst is stored once: per section, counts equal the burst's."""
    round_id = store.round_for_channel(platform, channel, open_only=True)
    section_of = {m.message_id: m.statement_id for m in store.round_messages(round_id, platform)
                  if m.kind == "section" and m.part == 0}
    triples = store.vote_triples(round_id).votes
    assert len(triples) == len({(v.participant, v.statement) for v in triples}) == len(burst)
    assert store.participation(round_id).as_counts() == {platform: people, "all": people}
    counts = {row.id: row for row in store.statement_counts(round_id)}
    for mid in section_of:
        expected = {s: sum(1 for _u, m, st in burst if m == mid and st == s) for s in STANCES}
        row = counts[section_of[mid]]
        assert dict(zip(STANCES, (row.agree, row.disagree, row.passes), strict=True)) == expected


def check_logs(runs: list[PlanbotProcess], secrets: list[str]) -> None:
    for run in runs:
        records = run.records()  # every line is a JSON object
        assert any(r["message"] == "stopped" for r in records)
        text = "\n".join(run.lines)
        assert not any(secret in text for secret in secrets), "a token was logged"


async def test_run_without_platforms_explains_and_exits_2(tmp_path):
    run = await PlanbotProcess().start(["run"], base_env(tmp_path), tmp_path)
    assert await run.wait() == 2
    message = "\n".join(run.lines)
    assert "DISCORD_TOKEN" in message and "SLACK_BOT_TOKEN" in message
    assert message.endswith(" python -m bot demo")  # named as it was run


async def test_sigterm_during_a_slack_burst_loses_nothing_acknowledged(tmp_path):
    store = sample_store(tmp_path)
    slack = LocalSlack()
    await slack.start()
    facilitator, channel = "UFACIL", "C0PLANNUM"
    people = [f"U{i:03d}" for i in range(60)]
    for user in [facilitator, *people]:
        slack.add_user(user, user.lower(), locale="en-US")
    slack.add_channel(channel, "plan")
    env = {**base_env(tmp_path), "SLACK_BOT_TOKEN": slack.bot_token,
           "SLACK_APP_TOKEN": slack.app_token, "SLACK_MODE": "socket",
           "SLACK_API_BASE": slack.base_url, "SLACK_FACILITATOR_IDS": facilitator,
           "LOG_LEVEL": "DEBUG"}
    first, second = PlanbotProcess(), PlanbotProcess()
    try:
        await first.start(["run"], env, tmp_path)
        await slack.wait_connected(timeout=WAIT)
        answer = await slack.user_runs_command(facilitator, channel, "open", plan="sample",
                                               sections=SECTIONS)
        assert "3" in answer.text
        await slack.settle()
        sections = [m.ts for m in slack.messages(channel) if m.bot_id and not is_notice(m.text)]
        assert len(sections) == 3

        # Everyone takes a stance on every section, 20 at a time; SIGTERM once a third of
        # the events are acknowledged.
        burst = [(u, ts, STANCES[(i + j) % 3]) for i, u in enumerate(people)
                 for j, ts in enumerate(sections)]
        name = {"agree": "+1", "disagree": "-1", "pass": "shrug"}
        acked: list[tuple[str, str, str]] = []
        gate = asyncio.Semaphore(20)

        async def react(user, ts, stance):
            async with gate:
                result = await slack.user_reacts(user, channel, ts, name[stance])
            if result is not None and result.acked:
                acked.append((user, ts, stance))
                if len(acked) == len(burst) // 3:
                    first.proc.send_signal(signal.SIGTERM)

        await asyncio.gather(*(react(*r) for r in burst))
        assert await first.wait() == 0
        assert len(burst) // 3 <= len(acked) < len(burst), "the burst was not cut off"

        # Restart: the reconciliation on connecting reads what was missed while down.
        await second.start(["run"], env, tmp_path)
        await second.wait_log("reconciled slack: ReconcileReport(rounds=1")
        assert await second.stop() == 0
    finally:
        await first.kill()
        await second.kill()
        await slack.stop()
    check_store(store, "slack", channel, burst, len(people))
    check_logs([first, second], [slack.bot_token, slack.app_token])


async def test_sigterm_during_a_discord_burst_loses_nothing(tmp_path):
    store = sample_store(tmp_path)
    async with DiscordSandbox() as discord:
        people = []
        for i in range(40):
            user = discord.world.add_user(f"person{i}", locale="en-US")
            discord.world.join(discord.guild, user)
            people.append(user.id)
        env = {**base_env(tmp_path), "DISCORD_TOKEN": discord.token,
               "DISCORD_API_BASE": discord.api_base, "DISCORD_GATEWAY_URL": discord.gateway_url,
               "DISCORD_GUILD_IDS": discord.guild.id,
               "DISCORD_FACILITATOR_ROLE_IDS": discord.facilitator_role.id}
        channel = discord.channel.id
        first, second = PlanbotProcess(), PlanbotProcess()
        try:
            await first.start(["run"], env, tmp_path)
            await first.wait_log("reconciliation:")
            await discord.user_runs_command(discord.people["alice"].id, channel, "open",
                                            plan="sample", sections=SECTIONS)
            sections = [m.id for m in discord.messages(channel)
                        if m.author.id == discord.world.bot.id and m.thread_id]
            assert len(sections) == 3
            emoji = {"agree": "👍", "disagree": "👎", "pass": "🤷"}
            burst = [(u, mid, STANCES[(i + j) % 3]) for i, u in enumerate(people)
                     for j, mid in enumerate(sections)]
            # SIGTERM a third of the way into the burst, without pausing it; the last third
            # happens while planbot is down.
            during, after = burst[: 2 * len(burst) // 3], burst[2 * len(burst) // 3:]
            for n, (user, mid, stance) in enumerate(during):
                if n == len(burst) // 3:
                    first.proc.send_signal(signal.SIGTERM)
                await discord.user_reacts(user, channel, mid, emoji[stance])
            assert await first.wait() == 0
            for user, mid, stance in after:
                await discord.user_reacts(user, channel, mid, emoji[stance])

            await second.start(["run"], env, tmp_path)
            await second.wait_log("reconciliation:")
            assert await second.stop() == 0
            (line,) = [ln for ln in second.lines if "reconciled discord" in ln]
            recovered = int(line.split("reactions_added=")[1].split(",")[0])
            assert recovered >= len(after)
        finally:
            await first.kill()
            await second.kill()
    check_store(store, "discord", channel, burst, len(people))
    check_logs([first, second], [discord.token])


async def _refused(tmp_path, env: dict[str, str]) -> tuple[int, str]:
    run = await PlanbotProcess().start(["run"], {**base_env(tmp_path), **env}, tmp_path)
    try:
        code = await run.wait()  # bounded by WAIT (30 s)
    finally:
        await run.kill()
    return code, "\n".join(run.lines)


async def test_a_refused_app_token_exits_2_naming_it(tmp_path):
    """The issue's case: a wrong Slack app token used to log a traceback every 10 s forever."""
    async with LocalSlack() as slack:
        code, text = await _refused(tmp_path, {
            "SLACK_API_BASE": slack.base_url, "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": "xapp-wrong", "PLANBOT_LANGUAGE": "fr"})
    assert code == 2 and "SLACK_APP_TOKEN : la plateforme refuse ce jeton" in text
    assert "Traceback" not in text and "Retrying" not in text and "xapp-wrong" not in text


@pytest.mark.allow_logged_errors
async def test_a_refused_bot_token_on_either_platform_stops_the_start(tmp_path, caplog):
    """The same start-up in this process (``serve``): Slack's bot token, then Discord's."""
    async with LocalSlack() as slack, DiscordSandbox() as discord:
        slack_settings = make_settings(tmp_path, language="en", slack_bot_token="xoxb-wrong",
                                       slack_app_token=slack.app_token,
                                       slack_api_base=slack.base_url)
        assert await serve(slack_settings, asyncio.Event()) == 2
        discord_settings = make_settings(tmp_path, language="en", discord_token="wrong-token",
                                         discord_api_base=discord.api_base,
                                         discord_gateway_url=discord.gateway_url)
        assert await serve(discord_settings, asyncio.Event()) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    fix = ("Copy it again from the platform's settings (see the README of integrations/"
           "discord or integrations/slack), then run planbot doctor.")
    assert errors == [f"SLACK_BOT_TOKEN: the platform refused this token (invalid_auth). {fix}",
                      f"DISCORD_TOKEN: the platform refused this token (401 Unauthorized). {fix}"]


async def test_sigterm_during_a_failing_start_up_stops_at_once(tmp_path):
    """A wrong app token while Slack rate-limits the connection for a minute: SIGTERM
    during that wait ends planbot at once."""
    async with LocalSlack() as slack:
        slack.rate_limit("apps.connections.open", retry_after=60)
        env = {**base_env(tmp_path), "SLACK_API_BASE": slack.base_url, "LOG_LEVEL": "DEBUG",
               "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": "xapp-wrong"}
        run = await PlanbotProcess().start(["run"], env, tmp_path)
        try:
            await run.wait_log("apps.connections.open")
            loop = asyncio.get_running_loop()
            asked = loop.time()
            assert await run.stop() == 0
            assert loop.time() - asked < 10
        finally:
            await run.kill()
        assert any(r["message"] == "stop asked during start-up" for r in run.records())
        assert run.records()[-1]["message"] == "stopped"
