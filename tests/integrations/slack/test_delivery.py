"""Slack's delivery rules against the app: signatures, retries, exactly-once.

Retries are signed with the current time, as Slack signs each retry afresh; "five minutes
later" is the core's clock moved forward, not a sleep: the event id is kept in the store, so
how late a retry comes does not matter.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError

from integrations.sandbox.slack.delivery import sign
from integrations.sandbox.slack.webapi import reaction_event
from tests.integrations.slack.conftest import (
    ANA,
    BEN,
    CHANNEL,
    open_round,
    sections,
    start_bot,
)


def _reaction_body(slack, user: str, ts: str, name: str = "+1") -> dict:
    msg = slack.message(CHANNEL, ts)
    return slack.event_body(reaction_event("reaction_added", user, msg, name, ts))


@pytest.fixture
async def http_bot(slack, core):
    bot = await start_bot(slack, core, "http")
    yield bot
    await bot.stop()


@pytest.mark.parametrize("problem", ["bad signature", "stale timestamp", "timestamp not a number",
                                     "body changed after signing", "no signature"])
async def test_unsigned_or_stale_request_is_refused(slack, http_bot, core, problem):
    """Refused as bolt refuses it (401), whether the request is an event planbot records
    itself or anything else (integrations/slack/events.py)."""
    _, round_id, (broadband, _) = await open_round(slack, core)
    body = _reaction_body(slack, ANA, broadband)
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()) - (301 if problem == "stale timestamp" else 0))
    secret = "not-the-secret" if problem == "bad signature" else slack.signing_secret
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": sign(secret, stamp, raw)}
    if problem == "timestamp not a number":
        headers["X-Slack-Request-Timestamp"] = "soon"
    elif problem == "body changed after signing":
        raw = raw.replace(b'"reaction": "+1"', b'"reaction": "-1"')
    elif problem == "no signature":
        del headers["X-Slack-Signature"]

    result, _, status = await slack.delivery.post_raw(raw, headers)

    assert (result.acked, status) == (False, 401)
    assert (await sections(core, round_id))["broadband"].agree == 0
    await slack.delivery.send_once(body)  # the same body, properly signed, is applied
    assert (await sections(core, round_id))["broadband"].agree == 1


async def test_request_url_answers_slacks_url_verification(slack, http_bot):
    """Slack checks a new request URL with a signed ``url_verification`` challenge
    (https://api.slack.com/events/url_verification): answered with the challenge, as
    before events were handled in front of bolt."""
    raw = json.dumps({"token": "unused", "challenge": "3eZbrw1aBm2rZgRN",
                      "type": "url_verification"}).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": sign(slack.signing_secret, stamp, raw)}

    result, _, status = await slack.delivery.post_raw(raw, headers)

    assert (result.acked, status, result.body) == (True, 200, {"challenge": "3eZbrw1aBm2rZgRN"})


async def test_request_url_answers_only_posts_to_its_path(http_bot):
    """As a router would: another path is 404, another method 405 naming POST."""
    async with aiohttp.ClientSession() as session:
        async with session.get(http_bot.url) as wrong_method:
            assert (wrong_method.status, wrong_method.headers.get("Allow")) == (405, "POST")
        async with session.post(http_bot.url.replace("/slack/events", "/slack/other"),
                                data=b"{}") as wrong_path:
            assert wrong_path.status == 404


async def test_event_delivered_four_times_is_applied_once(slack, slackbot, core):
    _, round_id, (broadband, _) = await open_round(slack, core)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1::skin-tone-2")
    body = slack.events[-1]
    await core.settle()
    applied = core.intake.applied

    await slack.redeliver(body, 1, "http_timeout")
    await slack.redeliver(body, 2, "http_timeout")
    core.clock.advance(timedelta(minutes=5))
    last = await slack.redeliver(body, 3, "http_timeout")

    assert last.acked
    await core.settle()
    assert core.intake.applied == applied
    assert (await sections(core, round_id))["broadband"].agree == 1
    ours = [a for a in slack.delivery.attempts if a.event_id == body["event_id"]]
    assert [(a.retry_num, a.outcome) for a in ours] == [(0, "acked"), (1, "acked"),
                                                         (2, "acked"), (3, "acked")]


async def test_event_whose_only_delivery_is_a_retry_is_applied(slack, slackbot, core):
    _, round_id, (broadband, _) = await open_round(slack, core)
    slack.delivery.lose_next(1)

    await slack.user_reacts(BEN, CHANNEL, broadband, "-1")

    event_id = slack.events[-1]["event_id"]
    ours = [(a.retry_num, a.outcome) for a in slack.delivery.attempts if a.event_id == event_id]
    assert ours == [(0, "lost"), (1, "acked")]
    assert (await sections(core, round_id))["broadband"].disagree == 1


async def test_acknowledgement_waits_for_the_record_not_the_application(slack, slackbot, core):
    """Recorded before the ack: once Slack has its ack, the event is in the inbox (applied
    soon after, exactly once)."""
    _, round_id, (broadband, _) = await open_round(slack, core)
    captured = core.intake.captured
    result = await slack.user_reacts(ANA, CHANNEL, broadband, "shrug")
    assert result.acked
    assert core.intake.captured == captured + 1
    assert (await sections(core, round_id))["broadband"].passes == 1


class _StoreTrouble:
    """The real core in front of a store that fails (``failures`` writes raise) or stalls
    (each write waits for ``release``): what a locked or lost database does."""

    def __init__(self, core, *, failures: int = 0) -> None:
        self.core = core
        self.failures = failures
        self.release: asyncio.Event | None = None

    def __getattr__(self, name):
        return getattr(self.core, name)

    async def capture(self, event):
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        if self.release is not None:
            await self.release.wait()
        return await self.core.capture(event)


@pytest.mark.allow_logged_errors
@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_failed_store_write_is_not_acknowledged_and_slack_retries(slack, core, mode):
    trouble = _StoreTrouble(core)
    bot = await start_bot(slack, trouble, mode)
    try:
        _, round_id, (broadband, _) = await open_round(slack, core)
        # The failing attempt is never acked: 0.3 s for it rather than Slack's 3 s; the
        # retry keeps the full deadline, so a loaded machine cannot make it time out too.
        slack.delivery.short_deadline_next(0.3)
        trouble.failures = 1

        result = await slack.user_reacts(ANA, CHANNEL, broadband, "+1")

        assert result.acked
        event_id = slack.events[-1]["event_id"]
        outcomes = [a.outcome for a in slack.delivery.attempts if a.event_id == event_id]
        assert outcomes == ["http_error" if mode == "http" else "http_timeout", "acked"]
        assert (await sections(core, round_id))["broadband"].agree == 1
    finally:
        await bot.stop()


async def test_slow_store_write_is_acknowledged_within_budget_and_finishes(slack, core):
    trouble = _StoreTrouble(core)
    bot = await start_bot(slack, trouble, "http", handle_budget=0.05)
    try:
        _, round_id, (broadband, _) = await open_round(slack, core)
        trouble.release = asyncio.Event()

        result = await slack.user_reacts(ANA, CHANNEL, broadband, "-1")

        assert result.acked
        assert [a.retry_num for a in slack.delivery.attempts if a.event_id ==
                slack.events[-1]["event_id"]] == [0]
        assert (await sections(core, round_id))["broadband"].disagree == 0
        trouble.release.set()
        await bot.wait_until_idle()
        assert (await sections(core, round_id))["broadband"].disagree == 1
    finally:
        await bot.stop()
