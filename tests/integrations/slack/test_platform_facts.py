"""Issue 11: what the real Slack does that planbot must get right, shown with the real
slack-bolt against the local Slack (integrations/sandbox/README.md)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Participant
from tests.integrations.slack.conftest import ANA, CHANNEL, OTHER_BOT, open_round, sections


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
    assert (counts["broadband"]["agree"], counts["broadband"]["disagree"]) == (1, 0)
    assert counts["digital-skills"]["agree"] == 0
    assert core.pseudonyms.key("slack", OTHER_BOT) not in participant_keys(core)
    assert core.pseudonyms.key("slack", ANA) in participant_keys(core)
    assert [c.params["user"] for c in slack.calls("users.info")].count(OTHER_BOT) == 1
