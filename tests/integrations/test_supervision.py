"""Supervised adapters (``planbot run``'s :func:`bot.service.run.serve`, in this process,
against the local Discord and Slack): a malformed Discord gateway event crashes the real
discord.py client; Slack keeps capturing meanwhile, the Discord adapter is restarted after
the backoff's delay (waited on a gate the test opens, no sleep), and its new session's
reconciliation reads back what happened while it was down."""

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


def stances(store, platform: str, channel: str) -> int:
    """Current stances taken on ``platform`` in the round open in ``channel``."""
    round_id = store.round_for_channel(platform, channel, open_only=True)
    return store.stances_by_platform(round_id).get(platform, 0)


@pytest.mark.allow_logged_errors  # the crash is logged as an error, on purpose
async def test_a_malformed_discord_event_restarts_discord_while_slack_keeps_capturing(
        tmp_path, caplog):
    store = make_store(f"sqlite:///{tmp_path / 'planbot.db'}")
    import_plan(store, sample_plan_paths(), datetime.now(UTC))
    gate = Gate()
    supervisors: list[Supervisor] = []
    async with DiscordSandbox() as discord_local, LocalSlack() as slack_local:
        slack_local.add_user(SLACK_FACILITATOR, "ufacil", locale="en-US")
        slack_local.add_user("U0BOB", "bob", locale="en-US")
        slack_local.add_channel(SLACK_CHANNEL, "plan")
        settings = make_settings(
            tmp_path, language="en", discord_token=discord_local.token,
            discord_api_base=discord_local.api_base,
            discord_gateway_url=discord_local.gateway_url,
            discord_guild_ids=frozenset({discord_local.guild.id}),
            discord_facilitator_role_ids=frozenset({discord_local.facilitator_role.id}),
            slack_bot_token=slack_local.bot_token, slack_app_token=slack_local.app_token,
            slack_api_base=slack_local.base_url,
            slack_facilitator_ids=frozenset({SLACK_FACILITATOR}))
        stop = asyncio.Event()
        service = asyncio.ensure_future(serve(settings, stop, sleep=gate.sleep,
                                              supervisors=supervisors))
        try:
            await until(lambda: len(supervisors) == 2, "the supervisors")
            slack, discord = (s.adapter for s in supervisors)
            await discord.wait_until_reconciled(1, WAIT)
            await slack.wait_until_reconciled(1, WAIT)
            channel = discord_local.channel.id
            alice = discord_local.people["alice"].id
            await discord_local.user_runs_command(alice, channel, "open", plan="sample",
                                                  sections="broadband")
            invited = await discord_local.user_runs_command(alice, channel, "invite")
            await slack_local.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open",
                                                plan="sample", sections="broadband",
                                                join=invitation_code(invited.text))
            await slack_local.settle()
            (section,) = [m.id for m in discord_local.messages(channel) if m.thread_id]
            (slack_section,) = [m.ts for m in slack_local.messages(SLACK_CHANNEL)
                                if m.bot_id and not is_notice(m.text)]

            await discord_local.gateway.send_malformed("MESSAGE_REACTION_ADD")
            await gate.wait_asked(1)  # crashed, stopped, waiting for its backoff
            assert not discord.connected
            # While Discord is down: Slack still captures, a Discord reaction goes unseen.
            result = await slack_local.user_reacts("U0BOB", SLACK_CHANNEL, slack_section, "+1")
            assert result is not None and result.acked
            assert stances(store, "slack", SLACK_CHANNEL) == 1
            await discord_local.user_reacts(discord_local.people["bob"].id, channel, section,
                                            "👍")
            assert stances(store, "discord", channel) == 0

            gate.opened.set()
            await asyncio.wait_for(discord_local.gateway.wait_connected(identified=2), WAIT)
            await until(lambda: supervisors[1].restarts == 1, "the restart")
            await discord.wait_until_reconciled(1, WAIT)  # the new session's reconciliation
            assert stances(store, "discord", channel) == 1
            assert gate.delays == [1.0] and not service.done()

            # Back and live: a new reaction is captured as it happens.
            await discord_local.user_reacts(discord_local.people["chloe"].id, channel, section,
                                            "👎")
            await discord_local.gateway.barrier()
            await discord.wait_until_idle(WAIT)
            assert stances(store, "discord", channel) == 2
        finally:
            stop.set()
            code = await asyncio.wait_for(service, WAIT)
    assert code == 0
    crashes = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert crashes == ["the discord adapter stopped (KeyError); restarting it"]


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
