"""Supervised adapters (``planbot run``'s :func:`bot.service.run.serve`, in this process,
against the local Discord and Slack): a malformed Discord gateway event crashes the real
discord.py client, and a Socket Mode reconnection Slack refuses ends the real slack-sdk
connection; each time the other platform keeps capturing meanwhile, the crashed adapter is
restarted after the backoff's delay (waited on a gate the test opens, no sleep), and its new
connection's reconciliation reads back what happened while it was down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.errors import SetupError
from bot.plans import import_plan, sample_plan_paths
from bot.service.run import serve
from bot.supervise import Backoff, Supervisor
from integrations.sandbox.discord import DiscordSandbox
from integrations.sandbox.slack import LocalSlack
from tests.helpers import invitation_code, is_notice, make_settings, make_store

WAIT = 20.0
SLACK_FACILITATOR, SLACK_CHANNEL = "UFACIL", "C0PLAN"


class Gate:
    """The supervisor's ``sleep``: records each delay asked and waits until the test opens
    the gate (the backoff's time passes when the test says so)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.asked = asyncio.Condition()
        self.opened = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        async with self.asked:
            self.delays.append(seconds)
            self.asked.notify_all()
        await self.opened.wait()

    async def wait_asked(self, count: int) -> None:
        async def _wait() -> None:
            async with self.asked:
                await self.asked.wait_for(lambda: len(self.delays) >= count)
        await asyncio.wait_for(_wait(), WAIT)


async def until(predicate, what: str) -> None:
    """Yield to the loop until ``predicate()`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Running:
    """``planbot run`` (:func:`serve`) in this process against the local Discord and Slack,
    supervised with a :class:`Gate` for its backoff, a round open in one channel on each
    with one section (``section`` on Discord, ``slack_section`` on Slack)."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.store = make_store(f"sqlite:///{tmp_path / 'planbot.db'}")
        import_plan(self.store, sample_plan_paths(), datetime.now(UTC))
        self.gate = Gate()
        self.supervisors: list[Supervisor] = []
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Running:
        self._discord, self._slack = DiscordSandbox(), LocalSlack()
        self.discord_local = await self._discord.__aenter__()
        self.slack_local = await self._slack.__aenter__()
        self.slack_local.add_user(SLACK_FACILITATOR, "ufacil", locale="en-US")
        for user in ("U0BOB", "U0CHLOE"):
            self.slack_local.add_user(user, user.lower(), locale="en-US")
        self.slack_local.add_channel(SLACK_CHANNEL, "plan")
        discord_local, slack_local = self.discord_local, self.slack_local
        settings = make_settings(
            self.tmp_path, language="en", discord_token=discord_local.token,
            discord_api_base=discord_local.api_base,
            discord_gateway_url=discord_local.gateway_url,
            discord_guild_ids=frozenset({discord_local.guild.id}),
            discord_facilitator_role_ids=frozenset({discord_local.facilitator_role.id}),
            slack_bot_token=slack_local.bot_token, slack_app_token=slack_local.app_token,
            slack_api_base=slack_local.base_url,
            slack_facilitator_ids=frozenset({SLACK_FACILITATOR}))
        self.service = asyncio.ensure_future(serve(settings, self.stop, sleep=self.gate.sleep,
                                                   supervisors=self.supervisors))
        await until(lambda: len(self.supervisors) == 2, "the supervisors")
        self.slack, self.discord = (s.adapter for s in self.supervisors)
        await self.discord.wait_until_reconciled(1, WAIT)
        await self.slack.wait_until_reconciled(1, WAIT)
        self.channel = discord_local.channel.id
        alice = discord_local.people["alice"].id
        await discord_local.user_runs_command(alice, self.channel, "open", plan="sample",
                                              sections="broadband")
        invited = await discord_local.user_runs_command(alice, self.channel, "invite")
        await slack_local.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                            plan="sample", sections="broadband",
                                            join=invitation_code(invited.text))
        await slack_local.settle()
        (self.section,) = [m.id for m in discord_local.messages(self.channel) if m.thread_id]
        (self.slack_section,) = [m.ts for m in slack_local.messages(SLACK_CHANNEL)
                                 if m.bot_id and not is_notice(m.text)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            self.stop.set()
            self.code = await asyncio.wait_for(self.service, WAIT)
        finally:
            await self._slack.__aexit__(*exc)
            await self._discord.__aexit__(*exc)

    async def discord_reacts(self, person: str, emoji: str) -> None:
        """A Discord reaction on the section, as it reaches the store when Discord is up."""
        await self.discord_local.user_reacts(self.discord_local.people[person].id,
                                             self.channel, self.section, emoji)
        await self.discord_local.gateway.barrier()
        if self.discord.connected:
            await self.discord.wait_until_idle(WAIT)

    def stances(self, platform: str) -> int:
        """Current stances taken on ``platform`` in its channel's open round."""
        channel = self.channel if platform == "discord" else SLACK_CHANNEL
        round_id = self.store.round_for_channel(platform, channel, open_only=True)
        return self.store.stances_by_platform(round_id).get(platform, 0)


@pytest.mark.allow_logged_errors  # the crash is logged as an error, on purpose
async def test_a_malformed_discord_event_restarts_discord_while_slack_keeps_capturing(
        tmp_path, caplog):
    async with Running(tmp_path) as run:
        slack, discord, gate = run.slack, run.discord, run.gate
        await run.discord_local.gateway.send_malformed("MESSAGE_REACTION_ADD")
        await gate.wait_asked(1)  # crashed, stopped, waiting for its backoff
        assert not discord.connected
        # While Discord is down: Slack still captures, a Discord reaction goes unseen.
        result = await run.slack_local.user_reacts("U0BOB", SLACK_CHANNEL, run.slack_section,
                                                   "+1")
        assert result is not None and result.acked
        await slack.wait_until_idle(WAIT)  # acknowledged once recorded: now applied
        assert run.stances("slack") == 1
        await run.discord_reacts("bob", "👍")
        assert run.stances("discord") == 0

        gate.opened.set()
        await asyncio.wait_for(run.discord_local.gateway.wait_connected(identified=2), WAIT)
        await until(lambda: run.supervisors[1].restarts == 1, "the restart")
        await discord.wait_until_reconciled(1, WAIT)  # the new session's reconciliation
        assert run.stances("discord") == 1
        assert gate.delays == [1.0] and not run.service.done()

        # Back and live: a new reaction is captured as it happens.
        await run.discord_reacts("chloe", "👎")
        assert run.stances("discord") == 2
    assert run.code == 0
    crashes = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert crashes == ["the discord adapter stopped (KeyError); restarting it"]


@pytest.mark.allow_logged_errors  # the crash is logged as an error, on purpose
async def test_a_refused_slack_reconnection_restarts_slack_while_discord_keeps_capturing(
        tmp_path, caplog):
    async with Running(tmp_path) as run:
        slack, gate = run.slack, run.gate
        reconciled = slack.reconciliations
        # Slack asks for a reconnection (a refresh) and then fails to give a new URL:
        # slack-sdk alone would retry every 10 s, deaf meanwhile.
        run.slack_local.fail_next("apps.connections.open", "internal_error")
        await run.slack_local.disconnect_socket(wait=False)
        await gate.wait_asked(1)  # ended, stopped, waiting for its backoff
        assert not slack.connected
        # While Slack is down: Discord still captures, a Slack reaction is not delivered.
        await run.discord_reacts("bob", "👍")
        assert run.stances("discord") == 1
        result = await run.slack_local.user_reacts("U0BOB", SLACK_CHANNEL, run.slack_section,
                                                   "+1")
        assert result is not None and not result.acked
        assert run.stances("slack") == 0

        gate.opened.set()
        await run.slack_local.wait_connected(1, WAIT)
        await until(lambda: run.supervisors[0].restarts == 1, "the restart")
        await slack.wait_until_reconciled(reconciled + 1, WAIT)  # the new connection's
        await slack.wait_until_idle(WAIT)
        assert run.stances("slack") == 1
        assert gate.delays == [1.0] and not run.service.done()

        # Back and live: a new reaction is captured as it happens.
        result = await run.slack_local.user_reacts("U0CHLOE", SLACK_CHANNEL,
                                                   run.slack_section, "-1")
        assert result is not None and result.acked
        await slack.wait_until_idle(WAIT)
        assert run.stances("slack") == 2
        assert run.stances("discord") == 1
    assert run.code == 0
    crashes = [r.getMessage() for r in caplog.records
               if r.levelname == "ERROR" and r.name == "bot.supervise"]
    assert crashes == ["the slack adapter stopped (SlackApiError); restarting it"]


class FlakyAdapter:
    """An adapter whose connection ends when the test says, and whose starts fail a given
    number of times: the supervisor's side of the protocol alone."""

    name = "flaky"
    connected = True

    def __init__(self, failing_starts: int = 0) -> None:
        self.ended: asyncio.Queue[BaseException | None] = asyncio.Queue()
        self.failing_starts = failing_starts
        self.starts = self.stops = 0

    async def start(self) -> None:
        self.starts += 1
        if self.failing_starts:
            self.failing_starts -= 1
            raise ConnectionError("still down")

    async def stop(self) -> None:
        self.stops += 1

    async def wait_until_closed(self) -> BaseException | None:
        return await self.ended.get()


async def test_backoff_grows_on_failed_restarts_and_resets_after_a_stable_run(caplog):
    clock = ManualClock(datetime(2026, 11, 2, tzinfo=UTC))
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    adapter = FlakyAdapter(failing_starts=3)
    supervisor = Supervisor(adapter, clock, sleep=sleep,
                            backoff=Backoff(first=1, factor=2, ceiling=5), stable_after=60)
    task = asyncio.ensure_future(supervisor.run())
    with caplog.at_level("CRITICAL"):
        await adapter.ended.put(RuntimeError("crash"))
        await until(lambda: supervisor.restarts == 1, "the first restart")
        assert delays == [1, 2, 4, 5] and adapter.starts == 4 and adapter.stops == 4
        await adapter.ended.put(RuntimeError("crash again, at once"))
        await until(lambda: supervisor.restarts == 2, "the second restart")
        assert delays[4:] == [5]  # no stable run in between: still at the ceiling
        clock.advance(timedelta(seconds=60))
        await adapter.ended.put(None)
        await until(lambda: supervisor.restarts == 3, "the third restart")
        assert delays[5:] == [1]  # up for a minute: the backoff started afresh
        refused = SetupError("run.token_rejected", key="X", error="401")
        await adapter.ended.put(refused)
        assert await asyncio.wait_for(task, WAIT) is refused
    assert supervisor.delays == delays


def test_backoff_refuses_nonsense():
    with pytest.raises(ValueError, match="backoff"):
        Backoff(first=0)
