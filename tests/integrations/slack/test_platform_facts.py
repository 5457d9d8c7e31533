"""Issue 11: what the real Slack does that planbot must get right, shown with the real
slack-bolt against the local Slack (integrations/sandbox/README.md)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import select

from bot.digests.build import Period, build_digest
from bot.digests.render_md import render_markdown
from integrations.sandbox.slack import LocalSlack
from storage.models import Participant, Statement
from tests.integrations.conformance import slack_problems
from tests.integrations.slack.conftest import (
    ANA,
    BEN,
    CHANNEL,
    FACILITATOR,
    OTHER_BOT,
    open_round,
    sections,
    start_bot,
)


def participant_keys(core) -> set[str]:
    with core.store.engine.connect() as conn:
        return set(conn.scalars(select(Participant.key_hash)))


async def test_another_apps_reaction_is_no_stance_live_or_in_reconciliation(slack, slackbot,
                                                                             core):
    """Another app's reaction_added carries only its user id: users.info says is_bot."""
    _, round_id, (broadband, skills) = await open_round(slack, core)

    await slack.user_reacts(OTHER_BOT, CHANNEL, broadband, "+1")
    await slack.user_unreacts(OTHER_BOT, CHANNEL, broadband, "+1")
    await slack.user_reacts(OTHER_BOT, CHANNEL, broadband, "-1")
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1")
    slack.delivery.lose_next(4)  # the first attempt and its three retries
    await slack.user_reacts(OTHER_BOT, CHANNEL, skills, "+1")  # missed: reconciliation reads it
    await slackbot.reconcile()

    counts = sections(core, round_id)
    assert (counts["broadband"].agree, counts["broadband"].disagree) == (1, 0)
    assert counts["digital-skills"].agree == 0
    assert core.pseudonyms.key("slack", OTHER_BOT) not in participant_keys(core)
    assert core.pseudonyms.key("slack", ANA) in participant_keys(core)
    assert [c.params["user"] for c in slack.calls("users.info")].count(OTHER_BOT) == 1


async def test_a_file_only_reply_is_an_attachment_reply_copied_as_its_names(slack, slackbot,
                                                                            core):
    _, round_id, (broadband, _) = await open_round(slack, core)

    await slack.user_replies(ANA, CHANNEL, broadband, "", files={"photo.jpg": b"\xff\xd8"})
    await slack.user_replies(BEN, CHANNEL, broadband, "Le tracé", files={"trace.kml": b"<kml/>"})

    rows = [s for s in core.store.statement_counts(round_id) if s.kind == "reply"]
    assert [(s.text, s.moderated) for s in rows] == [(None, False), ("Le tracé", True)]
    with core.store.engine.connect() as conn:
        assert list(conn.scalars(select(Statement.attachments).where(Statement.kind == "reply")
                                 .order_by(Statement.id))) == ["photo.jpg", "trace.kml"]
    assert core.store.participation(round_id).total == 2
    report = await slackbot.reconcile()  # read back from history: nothing new, nothing lost
    assert (report.replies_added, report.replies_edited, report.replies_deleted) == (0, 0, 0)


async def test_closing_posts_a_note_in_each_thread_and_late_events_are_kept_uncounted(
        slack, slackbot, core):
    _, round_id, (broadband, skills) = await open_round(slack, core)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1")

    await slack.user_runs_command(FACILITATOR, CHANNEL, "close")
    await slack.settle()

    for thread in (broadband, skills):
        note = slack.thread_messages(thread, CHANNEL)[-1]
        assert note.bot_id and core.store.get_round(round_id).public_id in note.text
    await slack.user_reacts(BEN, CHANNEL, broadband, "-1")
    await slack.user_replies(BEN, CHANNEL, broadband, "Trop tard ?")

    counts = sections(core, round_id)
    assert (counts["broadband"].agree, counts["broadband"].disagree) == (1, 0)
    late = [r for r in core.store.statement_counts(round_id) if r.kind == "reply"]
    assert [(r.text, r.moderated) for r in late] == [("Trop tard ?", False)]
    with core.store.engine.connect() as conn:
        assert list(conn.scalars(select(Statement.source).where(Statement.kind == "reply"))) \
            == ["late"]
    assert core.store.participation(round_id).total == 1


async def test_a_broadcast_reply_is_stored_once_and_shown_as_broadcast(slack, slackbot, core):
    """A reply also sent to the channel (subtype ``thread_broadcast``, followed by the
    parent's ``message_changed``) is one reply, marked as broadcast, live and after
    reconciliation reads the thread back; the digest says so beside it."""
    _, round_id, (broadband, _) = await open_round(slack, core)

    await slack.user_replies(ANA, CHANNEL, broadband, "Aussi pour tout le canal", broadcast=True)
    await slack.user_replies(BEN, CHANNEL, broadband, "Seulement dans le fil")
    report = await slackbot.reconcile()

    assert report.replies_added == 0
    rows = [r for r in core.store.statement_counts(round_id) if r.kind == "reply"]
    assert [(r.text, r.broadcast) for r in rows] == [("Aussi pour tout le canal", True),
                                                     ("Seulement dans le fil", False)]
    now = core.clock.now()
    text = render_markdown(build_digest(core.store, round_id,
                                        Period(now - timedelta(days=7), now + timedelta(days=1))))
    assert "Aussi pour tout le canal (aussi envoyée dans le canal) —" in text
    assert "Seulement dans le fil —" in text


async def test_an_open_outliving_its_response_url_is_answered_by_the_app(core):
    """Slack's response_url answers for 30 minutes: an open that outlives it (the local
    Slack's clock jumps 31 minutes once the sections start going out, as rate limits may
    make it) is answered through chat.postEphemeral, to the facilitator alone."""
    start, seen = time.time(), {}

    def clock() -> float:
        local = seen.get("slack")
        posting = local is not None and any(c.method == "chat.postMessage" for c in local.requests)
        return start + (31 * 60 if posting else 0)

    seen["slack"] = slack = LocalSlack(clock=clock)
    await slack.start()
    slack.add_user(FACILITATOR, "fanny", locale="fr-CA")
    slack.add_channel(CHANNEL, "plan-numerique")
    bot = await start_bot(slack, core, "socket")
    try:
        running = asyncio.ensure_future(slack.user_runs_command(
            FACILITATOR, CHANNEL, "open", plan="sample", sections="broadband"))

        async def answered() -> None:
            while not slack.api.ephemerals:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(answered(), 10)
        running.cancel()
    finally:
        await bot.stop()
        await slack.stop()

    (told,) = slack.api.ephemerals
    assert (told["user"], told["channel"]) == (FACILITATOR, CHANNEL)
    assert told["text"].startswith("Tour n°") and "1 section publiée" in told["text"]
    refused = [c.error for c in slack.requests if c.method == "response_url" and c.status != 200]
    assert refused == ["expired_url"]
    assert slack_problems(slack.requests) == []
