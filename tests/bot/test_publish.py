"""Publishing: /digest posts in the asking channel, records every message id, says what the
weekly job and ``planbot digest`` say, and a long digest is split and posted in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.digests.build import Period, build_digest
from bot.digests.render_md import render_markdown
from bot.events import Actor, CommandInvoked
from bot.findings import analyse_round
from tests.bot.digest_fixtures import DISCORD, SLACK, busy_round
from tests.helpers import START, invitation, make_core
from tests.integrations.two_platforms import (
    SLACK_CHANNEL,
    SLACK_FACILITATOR,
    two_platforms,
)


@pytest.fixture
def core(tmp_path):
    core = make_core(tmp_path)
    yield core
    core.close()


def digest_command(channel, locale="fr"):
    return CommandInvoked(platform=channel.platform, workspace_id=channel.workspace_id,
                          channel_id=channel.channel_id, occurred_at=START,
                          actor=Actor("facilitator"), action="digest", locale=locale,
                          roles=frozenset({"facilitator"}))


async def test_digest_command_posts_in_that_channel_and_records_ids(core):
    round_id, platforms = await busy_round(core)
    core.platforms.update(platforms)
    core.clock.advance(timedelta(days=2))

    reply = await core.run_command(digest_command(SLACK), platforms["slack"])

    assert core.store.get_round(round_id).public_id in reply.text and "publiée" in reply.text
    assert platforms["discord"].digests == []
    ((channel, post),) = platforms["slack"].digests
    assert channel == SLACK and {"digest.png", "opinion-map.png"} <= set(post.files)
    assert all(len(b["text"]["text"]) <= 3000 for p in post.parts for b in p["blocks"])
    (digest,) = core.store.digests(round_id)
    assert digest.kind == "on_demand" and digest.status == "posted"
    assert [m.platform for m in digest.messages] == ["slack"] * len(post.parts)
    assert [m.part for m in digest.messages] == list(range(len(post.parts)))


async def test_on_demand_weekly_and_cli_say_the_same(core):
    round_id, platforms = await busy_round(core)
    publisher = core.digest_publisher
    core.platforms.update(platforms)
    end = START + timedelta(days=7)
    core.clock.set(end)
    on_demand = await publisher(round_id, "on_demand", platforms["discord"], DISCORD)
    weekly = await publisher.publish(round_id, "weekly", end=end)
    # What `planbot digest` prints for the same period (bot/cli.py _digest).
    cli = render_markdown(build_digest(core.store, round_id, Period(START, end),
                                       analysis=analyse_round(core.store, round_id,
                                                              core.clock.now())))
    assert on_demand.rendered.markdown == weekly.rendered.markdown == cli
    stored = {d.kind: d for d in core.store.digests(round_id)}
    assert stored["weekly"].outputs is not None and stored["weekly"].content is not None
    assert stored["weekly"].outputs["md"] == cli
    assert stored["weekly"].content["participation"]["stances"] == 96


async def test_a_long_digest_is_split_and_every_part_posted_in_order(core):
    long_reply = ("This proposal needs a budget line before anyone can judge it. " * 40).strip()
    round_id, platforms = await busy_round(core, people=40, reply_text=long_reply + " {i}")
    core.platforms.update(platforms)
    result = await core.digest_publisher.publish(round_id, "weekly",
                                               end=START + timedelta(days=7))

    discord_post = platforms["discord"].digests[0][1]
    slack_post = platforms["slack"].digests[0][1]
    assert len(discord_post.parts) > 1
    assert all(len(p["content"]) <= 2000 for p in discord_post.parts)
    recorded = [(m.platform, m.part) for m in core.store.digests(round_id)[0].messages]
    assert recorded == [("discord", i) for i in range(len(discord_post.parts))] + \
        [("slack", i) for i in range(len(slack_post.parts))]
    # Order: the parts, joined, read as the whole Markdown does.
    text = " ".join(p["content"] for p in discord_post.parts)
    headings = [line for line in result.rendered.markdown.splitlines() if line.startswith("## ")]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)


async def test_a_claimed_period_is_not_posted_again(core):
    round_id, platforms = await busy_round(core)
    core.platforms.update(platforms)
    end = START + timedelta(days=7)
    first = await core.digest_publisher.publish(round_id, "weekly", end=end)
    second = await core.digest_publisher.publish(round_id, "weekly", end=end)
    assert first.digest_id is not None and second.digest_id is None
    assert len(platforms["discord"].digests) == 1


async def test_nothing_is_claimed_when_no_channel_is_connected(core):
    round_id, platforms = await busy_round(core)
    end = START + timedelta(days=7)
    assert (await core.digest_publisher.publish(round_id, "weekly", end=end)).digest_id is None
    assert core.store.digests(round_id) == []
    core.attach(platforms["slack"])  # Discord still down
    result = await core.digest_publisher.publish(round_id, "weekly", end=end)
    assert result.digest_id is not None
    assert [m.channel.platform for m in result.posted] == ["slack"]


# ---- against the real adapters and the local servers -----------------------------------



@pytest.fixture
async def both(tmp_path):
    """The real Discord bot and Slack app on local servers, one core with the publisher."""

    # The local Discord dates messages by the wall clock: start the core there too.
    async with two_platforms(tmp_path, [(SLACK_FACILITATOR, "fanny", "en-US")],
                             clock=ManualClock(datetime.now(UTC))) as (core, h, slack, _app):
        yield core, h, slack


async def test_long_digest_posted_in_order_on_both_real_platforms(both):
    core, h, slack = both
    await h.run("alice", "open", plan="sample", language="en")
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  join=invitation(core))
    await slack.settle()
    round_id = h.round_id()
    thread = h.first_parts(round_id)["broadband"]
    names = ("bob", "chloe", "dan")
    for i in range(12):
        mid = await h.sandbox.user_replies(h.person(names[i % 3]), h.channel_id, thread,
                                           f"Reply {i}: " + "a long and careful objection. " * 9)
        await h.sandbox.user_reacts(h.person(names[(i + 1) % 3]), h.channel_id, mid, "👍")
    await h.settle()
    discord_before = len(h.sandbox.messages(h.channel_id))
    slack_before = len(slack.messages(SLACK_CHANNEL))

    # /digest on Discord posts there only; the weekly publish posts in both channels.
    answer = await h.run("alice", "digest")
    assert "posted" in answer.text or "publiée" in answer.text
    core.clock.advance(timedelta(days=7))
    result = await core.digest_publisher.publish(round_id, "weekly")
    await h.settle()
    await slack.settle()

    discord_posts = [m for m in h.sandbox.messages(h.channel_id)[discord_before:]]
    slack_posts = slack.messages(SLACK_CHANNEL)[slack_before:]
    parts = result.rendered.post_for("discord").parts
    assert len(parts) >= 2  # longer than one Discord message
    # The on-demand digest's parts, then the weekly one's, each in order, chart on the first.
    weekly = discord_posts[-len(parts):]
    assert [m.content for m in weekly] == [p["content"] for p in parts]
    assert [bool(m.attachments) for m in weekly] == [True] + [False] * (len(parts) - 1)
    slack_parts = result.rendered.post_for("slack").parts
    assert [m.blocks for m in slack_posts] == [p["blocks"] for p in slack_parts]
    assert slack.calls("files.completeUploadExternal")

    digests = {d.kind: d for d in core.store.digests(round_id)}
    assert {m.platform for m in digests["on_demand"].messages} == {"discord"}
    recorded = [(m.platform, m.message_id) for m in digests["weekly"].messages]
    assert recorded == [("discord", m.id) for m in weekly] + [("slack", m.ts) for m in slack_posts]


async def test_a_facilitators_close_posts_the_final_digest_everywhere(core):
    round_id, platforms = await busy_round(core)
    core.platforms.update(platforms)
    core.clock.advance(timedelta(days=2))
    close = CommandInvoked(platform="discord", workspace_id=DISCORD.workspace_id,
                           channel_id=DISCORD.channel_id, occurred_at=START,
                           actor=Actor("facilitator"), action="close", locale="en",
                           roles=frozenset({"facilitator"}))
    reply = await core.run_command(close, platforms["discord"])
    assert reply.text == f"Round #{core.store.get_round(round_id).public_id} closed."
    assert len(platforms["discord"].digests) == len(platforms["slack"].digests) == 1
    (digest,) = core.store.digests(round_id)
    assert digest.kind == "final" and digest.status == "posted"


async def test_two_digest_clicks_in_a_minute_post_one_digest(core):
    _round_id, platforms = await busy_round(core)
    core.platforms.update(platforms)
    core.clock.advance(timedelta(days=2))
    first = await core.run_command(digest_command(SLACK, "en"), platforms["slack"])
    core.clock.advance(timedelta(milliseconds=300))
    second = await core.run_command(digest_command(SLACK, "en"), platforms["slack"])
    assert "posted" in first.text and "just posted" in second.text
    assert len(platforms["slack"].digests) == 1


async def test_a_claim_left_by_a_dead_process_is_taken_over_in_the_channels_not_posted(core):
    round_id, platforms = await busy_round(core)
    publisher = core.digest_publisher
    core.platforms.update(platforms)
    end = START + timedelta(days=7)
    core.clock.set(end)
    start = core.store.get_round(round_id).opened_at
    # A process claimed the weekly period, posted on Discord, then died.
    dead = core.store.claim_digest(round_id, "weekly", start, end, end)
    core.store.record_messages(None, [("discord", DISCORD.workspace_id, DISCORD.channel_id,
                                     "999", None, 0)], digest_id=dead)
    assert (await publisher.publish(round_id, "weekly", end=end)).digest_id is None
    core.clock.advance(timedelta(minutes=20))
    taken = await publisher.publish(round_id, "weekly", end=end)
    assert taken.digest_id == dead
    assert platforms["discord"].digests == [] and len(platforms["slack"].digests) == 1
    assert taken.rendered.digest.start == start


async def test_digest_clicks_across_a_minute_and_in_two_channels(core):
    _round_id, platforms = await busy_round(core)
    core.platforms.update(platforms)
    core.clock.set(datetime(2026, 11, 4, 14, 0, 59, tzinfo=UTC))
    await core.run_command(digest_command(SLACK, "en"), platforms["slack"])
    core.clock.advance(timedelta(seconds=2))
    again = await core.run_command(digest_command(SLACK, "en"), platforms["slack"])
    assert "just posted" in again.text and len(platforms["slack"].digests) == 1
    other = await core.run_command(digest_command(DISCORD, "en"), platforms["discord"])
    assert "just posted" not in other.text and len(platforms["discord"].digests) == 1


async def test_a_round_gets_one_final_digest_however_it_is_closed(core):
    round_id, platforms = await busy_round(core)
    core.platforms.update(platforms)
    core.clock.advance(timedelta(days=2))
    close = CommandInvoked(platform="discord", workspace_id=DISCORD.workspace_id,
                           channel_id=DISCORD.channel_id, occurred_at=START,
                           actor=Actor("facilitator"), action="close",
                           roles=frozenset({"facilitator"}))
    await core.run_command(close, platforms["discord"])
    core.clock.advance(timedelta(seconds=3))
    assert (await core.digest_publisher(round_id, "final")).digest_id is None
    assert [d.kind for d in core.store.digests(round_id)] == ["final"]
