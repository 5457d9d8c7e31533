"""A platform that cannot be reached at start-up (its URL a closed local port: the connection
is refused) does not stop ``planbot run`` (:func:`bot.service.run.serve`, in this process):
its adapter is retried with backoff like a crashed one, the log says once per outage, in plain
words, what is wrong (the traceback at DEBUG only), and once the platform answers the adapter
starts and the log says so."""

from __future__ import annotations

import asyncio
import logging
import socket

from bot.service.run import serve
from bot.supervise import Supervisor
from integrations.sandbox.slack import LocalSlack
from tests.helpers import make_settings

WAIT = 20.0
FACILITATORS = frozenset({"42"})
"""Facilitators set, so that the only warnings are the platforms' (none about them)."""


class Steps:
    """The supervisors' ``sleep``: records each delay and lets ``free`` of them pass at once;
    the next ones wait until the test calls :meth:`release`."""

    def __init__(self, free: int) -> None:
        self.delays: list[float] = []
        self._asked = asyncio.Condition()
        self._permits = asyncio.Semaphore(free)

    async def sleep(self, seconds: float) -> None:
        async with self._asked:
            self.delays.append(seconds)
            self._asked.notify_all()
        await self._permits.acquire()

    async def wait_asked(self, count: int) -> None:
        async def _wait() -> None:
            async with self._asked:
                await self._asked.wait_for(lambda: len(self.delays) >= count)
        await asyncio.wait_for(_wait(), WAIT)

    def release(self) -> None:
        self._permits.release()


def closed_port() -> int:
    """A local port nothing listens on (the OS gave it, then it was closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(predicate, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def said(caplog, level: int = logging.INFO) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records
            if r.name.startswith("bot.") and r.levelno >= level]


async def test_slack_unreachable_at_start_up_is_retried_until_it_answers(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="bot.supervise")
    port = closed_port()
    slack = LocalSlack()
    settings = make_settings(tmp_path, language="en", slack_bot_token=slack.bot_token,
                             slack_app_token=slack.app_token, slack_facilitator_ids=FACILITATORS,
                             slack_api_base=f"http://127.0.0.1:{port}/api/")
    steps, supervisors, stop = Steps(free=3), list[Supervisor](), asyncio.Event()
    service = asyncio.ensure_future(serve(settings, stop, sleep=steps.sleep,
                                          supervisors=supervisors))
    try:
        await steps.wait_asked(4)  # the start and three restarts refused, the fourth waits
        assert not service.done() and steps.delays == [1, 2, 4, 8]
        await slack.start(port=port)
        steps.release()
        await until(lambda: supervisors[0].restarts == 1, "Slack's start")
        assert supervisors[0].adapter.connected
    finally:
        stop.set()
        code = await asyncio.wait_for(service, WAIT)
        await slack.stop()
    assert code == 0
    supervision = [entry for entry in said(caplog) if entry[1] != "shutting down"
                   and not entry[1].startswith(("planbot running", "stopped", "Slack connected"))]
    assert supervision == [
        ("WARNING", "Slack is unreachable (connection refused): check the network or proxy; "
                    "retrying in 1 s"),
        ("INFO", "Slack is reachable again"),
        ("INFO", "the slack adapter restarted (restart 1)")]
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info]
    tracebacks = [r for r in caplog.records if r.name == "bot.supervise" and r.exc_info]
    assert len(tracebacks) == 4 and all(r.levelno == logging.DEBUG for r in tracebacks)


async def test_discord_unreachable_is_told_once_per_outage_not_at_every_restart(tmp_path,
                                                                               caplog):
    port = closed_port()
    settings = make_settings(tmp_path, language="en", discord_token="unused-token",
                             discord_facilitator_role_ids=FACILITATORS,
                             discord_api_base=f"http://127.0.0.1:{port}/api/v10",
                             discord_gateway_url=f"ws://127.0.0.1:{port}/")
    steps, stop = Steps(free=5), asyncio.Event()
    service = asyncio.ensure_future(serve(settings, stop, sleep=steps.sleep))
    try:
        await steps.wait_asked(6)
        assert not service.done() and steps.delays == [1, 2, 4, 8, 16, 32]
    finally:
        stop.set()
        code = await asyncio.wait_for(service, WAIT)
    assert code == 0
    assert [entry for entry in said(caplog, logging.WARNING)] == [
        ("WARNING", "Discord is unreachable (connection refused): check the network or proxy; "
                    "retrying in 1 s")]
