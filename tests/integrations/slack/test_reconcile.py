"""After downtime: what happened while the app was away is read back from Slack."""

from __future__ import annotations

from tests.integrations.slack.conftest import (
    ANA,
    BEN,
    CHANNEL,
    CHLOE,
    open_round,
    replies,
    sections,
    start_bot,
)


async def _miss_some_events(slack, broadband: str, skills: str) -> None:
    slack.set_away(True)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1::skin-tone-4")
    await slack.user_reacts(BEN, CHANNEL, skills, "-1")
    await slack.user_replies(CHLOE, CHANNEL, broadband, "Écrit pendant la panne")
    await slack.user_replies(BEN, CHANNEL, broadband, "Moi aussi", broadcast=True)
    slack.set_away(False)


async def test_reconcile_backfills_what_was_missed_once(slack, slackbot, core):
    _, round_id, (broadband, skills) = await open_round(slack, core)
    await slack.user_reacts(CHLOE, CHANNEL, skills, "shrug")
    await _miss_some_events(slack, broadband, skills)
    await slack.user_unreacts(CHLOE, CHANNEL, skills, "shrug")  # live again
    # four events and the parent's message_changed after each of the two replies, each
    # tried once and retried three times, all while away
    assert sum(a.outcome == "lost" for a in slack.delivery.attempts) == 24
    assert (await sections(core, round_id))["broadband"].agree == 0

    report = await slackbot.reconcile()

    assert (report.reactions_added, report.replies_added) == (2, 2)
    by_key = await sections(core, round_id)
    assert (by_key["broadband"].agree, by_key["digital-skills"].disagree,
            by_key["digital-skills"].passes) == (1, 1, 0)
    assert [r.text for r in (await replies(core, round_id))] == ["Écrit pendant la panne",
                                                                "Moi aussi"]
    again = await slackbot.reconcile()
    assert (again.reactions_added, again.reactions_removed, again.replies_added) == (0, 0, 0)


async def test_reconcile_notices_reactions_removed_while_away(slack, slackbot, core):
    _, round_id, (broadband, _) = await open_round(slack, core)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1")
    slack.set_away(True)
    await slack.user_unreacts(ANA, CHANNEL, broadband, "+1")
    slack.set_away(False)

    report = await slackbot.reconcile()

    assert report.reactions_removed == 1
    assert (await sections(core, round_id))["broadband"].agree == 0


async def test_socket_reconnection_reconciles(slack, core):
    bot = await start_bot(slack, core, "socket")
    try:
        _, round_id, (broadband, skills) = await open_round(slack, core)
        await _miss_some_events(slack, broadband, skills)
        passes = bot.reconciliations

        await slack.disconnect_socket()
        await bot.wait_until_reconciled(passes + 1)

        assert (await sections(core, round_id))["broadband"].agree == 1
        assert len(await replies(core, round_id)) == 2
        await slack.user_reacts(ANA, CHANNEL, skills, "shrug")  # the new connection works
        assert (await sections(core, round_id))["digital-skills"].passes == 1
        assert len(slack.calls("apps.connections.open")) == 2
    finally:
        await bot.stop()
