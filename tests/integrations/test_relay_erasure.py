"""A copy posted while its reply is erased does not stay up (Law 25, s. 28), end to end: the
real discord.py bot and slack-bolt app against the local servers, the relay's
``chat.postMessage`` held by the local Slack (as Slack's rate limits would) while another
process on the same store erases the reply's author, then released."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import ManualClock
from bot.service.build import build_core
from tests.helpers import START, invitation, make_store
from tests.integrations.two_platforms import SLACK_CHANNEL, SLACK_FACILITATOR, two_platforms

pytestmark = pytest.mark.e2e

REACHED = 10.0
"""Seconds at most for the relay's post to reach the local Slack (a bound, not a wait)."""


@pytest.fixture
async def both(tmp_path):
    async with two_platforms(tmp_path, [(SLACK_FACILITATOR, "ufacil", None)],
                             clock=ManualClock(START)) as (core, h, slack, _app):
        yield core, h, slack


async def settle(core, h, slack) -> None:
    for _ in range(2):
        await h.settle()
        await slack.settle()
        await core.settle()


@pytest.mark.parametrize("answered", [False, True], ids=["posted-after", "answer-held"])
async def test_a_copy_posted_while_its_author_is_erased_elsewhere_is_deleted(both, answered):
    """The erasure runs in another core on the same SQLite file (another process: nothing
    of the relay's is shared) while Slack holds the copy's post; it finds no copy to delete,
    since none is recorded yet. Once Slack answers, the copy is deleted there and recorded
    deleted: the erased text is nowhere on Slack and no copy row of the store points to a
    live message."""
    core, h, slack = both
    await h.run("alice", "open", plan="sample", sections="broadband")
    await slack.user_runs_command(SLACK_FACILITATOR, SLACK_CHANNEL, "open", plan="sample",
                                  sections="broadband", join=invitation(core))
    await settle(core, h, slack)
    discord_bb = h.first_parts(h.round_id())["broadband"]
    slack_bb = next(m.ts for m in slack.messages(SLACK_CHANNEL) if m.bot_id)
    held = slack.faults.hold("chat.postMessage", answered=answered)

    dan = h.person("dan")
    await h.sandbox.user_replies(dan, h.channel_id, discord_bb, "Kp4 HELDDAN in flight")
    await asyncio.wait_for(held.reached.wait(), REACHED)
    (statement_id,) = [c.id for c in core.store.statement_counts(h.round_id())
                       if c.kind == "reply"]
    elsewhere = build_core(make_store(core.store.engine.url.render_as_string(False)),
                           core.settings, core.clock)
    try:
        report = await elsewhere.privacy.erase("discord", dan, "cli")
    finally:
        elsewhere.close()
    assert report.found and report.replies == 1 and report.copies_deleted == 0
    held.release()
    await settle(core, h, slack)

    (post,) = [c for c in slack.calls("chat.postMessage") if "HELDDAN" in str(c.params)]
    posted_ts = post.response["ts"]
    assert not any("HELDDAN" in m.text for m in slack.thread_messages(slack_bb, SLACK_CHANNEL))
    assert [c.params["ts"] for c in slack.calls("chat.delete")] == [posted_ts]
    assert core.store.copies_of(statement_id).copies == []
    (row,) = [m for m in core.store.statement_messages(statement_id) if m.platform == "slack"]
    assert row.message_id == posted_ts
    assert core.store.participant_data(core.pseudonyms.key("discord", dan)) is None
