"""The real slack-bolt and slack-sdk against the local Slack, in Socket Mode and HTTP mode.

A facilitator opens a round; members react (with skin tones), reply, broadcast a reply, edit
and delete; the store must hold exactly the expected stances and replies. Any ERROR logged by
slack_bolt, slack_sdk or core fails the test (tests/conftest.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.helpers import is_notice
from tests.integrations.slack.conftest import (
    ANA,
    BEN,
    CHANNEL,
    CHLOE,
    FACILITATOR,
    GROUP_MEMBER,
    OTHER_BOT,
    OTHER_BOT_ID,
    open_round,
    replies,
    section_messages,
    sections,
)


async def test_opening_posts_sections_with_seeded_reactions(slack, slackbot, core):
    answer, round_id, (broadband, skills) = await open_round(slack, core)

    assert answer.ephemeral
    assert answer.text == f"Tour n° {public(core, round_id)} ouvert : 2 sections publiées."
    before_ack = [c.method for c in slack.requests[:answer.calls_at_ack]]
    assert "chat.postMessage" not in before_ack  # acknowledged first, posted after
    assert [a.outcome for a in slack.delivery.attempts if a.kind == "slash_commands"] == ["acked"]
    first = slack.message(CHANNEL, broadband)
    assert first.blocks[0]["text"]["text"].startswith("*Internet haute vitesse partout*")
    assert first.reactions == {"+1": ["U0PLANBOT"], "-1": ["U0PLANBOT"], "shrug": ["U0PLANBOT"]}
    assert set(await sections(core, round_id)) == {"broadband", "digital-skills"}
    assert all(row.agree + row.disagree + row.passes == 0
               for row in (await sections(core, round_id)).values())
    assert slack.message(CHANNEL, skills).reactions.keys() == {"+1", "-1", "shrug"}


async def test_members_react_reply_edit_delete(slack, slackbot, core):
    _, round_id, (broadband, skills) = await open_round(slack, core)

    await slack.user_reacts(ANA, CHANNEL, broadband, "+1::skin-tone-3")
    await slack.user_reacts(BEN, CHANNEL, broadband, "-1")
    await slack.user_reacts(BEN, CHANNEL, skills, "shrug::skin-tone-5")
    await slack.user_reacts(CHLOE, CHANNEL, skills, "+1")
    await slack.user_unreacts(CHLOE, CHANNEL, skills, "+1")
    await slack.user_reacts(CHLOE, CHANNEL, skills, "thumbsdown::skin-tone-2")

    kept = await slack.user_replies(ANA, CHANNEL, broadband, "Oui, & <!channel> aussi")
    broadcast = await slack.user_replies(BEN, CHANNEL, broadband, "Diffusé au canal", broadcast=True)
    gone = await slack.user_replies(CHLOE, CHANNEL, skills, "Je retire ça")
    await slack.user_replies(OTHER_BOT, CHANNEL, broadband, "I am a bot", bot_id=OTHER_BOT_ID)
    await slack.user_edits(ANA, CHANNEL, kept, "Oui, modifié")
    await slack.unfurl_links(CHANNEL, broadcast)
    await slack.user_deletes(CHLOE, CHANNEL, gone)
    await slack.user_reacts(CHLOE, CHANNEL, kept, "+1::skin-tone-6")

    by_key = await sections(core, round_id)
    assert (by_key["broadband"].agree, by_key["broadband"].disagree,
            by_key["broadband"].passes) == (1, 1, 0)
    assert (by_key["digital-skills"].agree, by_key["digital-skills"].disagree,
            by_key["digital-skills"].passes) == (0, 1, 1)
    live = await replies(core, round_id)
    assert [r.text for r in live] == ["Oui, modifié", "Diffusé au canal"]
    assert live[0].agree == 1
    assert len(await replies(core, round_id, live=False)) == 3
    participation = core.store.participation(round_id)
    assert (participation.total, participation.by_platform) == (3, {"slack": 3})


async def test_reply_text_is_stored_as_typed(slack, slackbot, core):
    _, round_id, (broadband, _) = await open_round(slack, core)
    # Slack sends & < > escaped inside events; the store keeps what the user typed.
    await slack.user_replies(ANA, CHANNEL, broadband, "a &amp; b &lt;@UBEN&gt;")
    assert (await replies(core, round_id))[0].text == "a & b <@UBEN>"


async def test_deleted_section_becomes_tombstone_and_keeps_stances(slack, slackbot, core):
    _, round_id, (broadband, _) = await open_round(slack, core)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1")
    await slack.user_replies(BEN, CHANNEL, broadband, "Une réponse")

    await slack.user_deletes(FACILITATOR, CHANNEL, broadband)

    assert slack.message(CHANNEL, broadband).subtype == "tombstone"
    assert (await sections(core, round_id))["broadband"].agree == 1
    assert [r.text for r in (await replies(core, round_id))] == ["Une réponse"]
    report = await slackbot.reconcile()
    assert (report.reactions_removed, report.replies_added) == (0, 0)
    assert (await sections(core, round_id))["broadband"].agree == 1


async def test_group_member_is_a_facilitator(slack, slackbot, core):
    answer = await slack.user_runs_command(GROUP_MEMBER, CHANNEL, "status")
    assert answer.text == "No round is posted in this channel; give `round=N`."


async def test_non_facilitator_is_refused_in_their_language(slack, slackbot, core):
    english = await slack.user_runs_command(ANA, CHANNEL, "open", plan="sample")
    french = await slack.user_runs_command(BEN, CHANNEL, "close")
    assert (english.text, english.ephemeral) == (
        "Only facilitators can do that. Facilitators are the members or user groups that "
        "whoever runs planbot lists in SLACK_FACILITATOR_IDS: ask them.", True)
    assert french.text.startswith("Seuls les animateurs et animatrices peuvent faire cela. ")
    assert "SLACK_FACILITATOR_IDS" in french.text
    assert section_messages(slack) == []


async def test_bad_command_gets_usage_in_the_users_language(slack, slackbot):
    english = await slack.run_slash_command(ANA, CHANNEL, "frobnicate now")
    french = await slack.run_slash_command(BEN, CHANNEL, "open sample a,b 7d fr de-trop extra")
    helped = await slack.run_slash_command(CHLOE, CHANNEL, "")
    assert english.ephemeral and english.text.startswith("Command not understood: unknown action")
    assert "Usage: `/planbot <action> [options]`" in english.text.replace("&lt;", "<").replace("&gt;", ">")
    assert french.text.startswith("Commande non comprise : argument en trop")
    assert helped.text.startswith("Utilisation")


async def test_echoed_user_text_notifies_no_one(slack, slackbot):
    answer = await slack.run_slash_command(FACILITATOR, CHANNEL, "open plan=<!channel>")
    assert "&lt;!channel&gt;" in answer.text
    assert "<!" not in answer.text
    odd = await slack.run_slash_command(ANA, CHANNEL, "<@UBEN> <!here>")
    assert "&lt;@UBEN&gt;" in odd.text and "<@" not in odd.text


async def test_rate_limited_post_waits_and_posts_once(slack, slackbot, core):
    slack.rate_limit("chat.postMessage", retry_after=0)
    answer, round_id, posted = await open_round(slack, core, sections="broadband")

    assert answer.text == f"Tour n° {public(core, round_id)} ouvert : 1 section publiée."
    assert len(posted) == 1
    # The section once, after the 429; then the opening announcement.
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200, 200]
    assert sorted(slack.message(CHANNEL, posted[0]).reactions) == ["+1", "-1", "shrug"]


async def test_reopening_posts_nothing_twice(slack, slackbot, core):
    await open_round(slack, core)
    again = await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample",
                                          sections="broadband,digital-skills")
    round_id = core.store.round_for_channel("slack", CHANNEL, open_only=True)
    assert again.text == (f"Le tour n° {public(core, round_id)} est déjà publié ici (2 sections) ; "
                          "rien n’a été republié.")
    assert len(section_messages(slack)) == 2


async def test_ignored_subtypes_are_acknowledged_quietly(slack, slackbot, core):
    _, round_id, _ = await open_round(slack, core)
    result = await slack.send_event({"type": "message", "subtype": "channel_join",
                                     "user": ANA, "channel": CHANNEL, "ts": "1.000001",
                                     "text": "<@UANA> has joined"})
    top = await slack.user_posts(ANA, CHANNEL, "not in a thread")
    assert result.acked and top
    assert (await replies(core, round_id, live=False)) == []


async def test_digest_now_posts_blocks_and_chart(slack, socket_bot, core, monkeypatch):
    # Groups of one or two people: described only because the minimum is lowered to 1.
    publisher = core.digest_publisher
    monkeypatch.setattr(publisher, "settings", replace(publisher.settings, digest_min_group=1))
    _, round_id, (broadband, _) = await open_round(slack, core)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1")
    await slack.user_replies(BEN, CHANNEL, broadband, "<!here> lisez ça")

    # The answer follows the posting of the chart and the map: drawn under load, slower.
    answer = await slack.run_slash_command(FACILITATOR, CHANNEL, "digest now", timeout=60)

    digest = [m for m in section_messages(slack)[2:] if m.blocks]
    assert answer.ephemeral and public(core, round_id) in answer.text
    assert digest and all(len(m.blocks) <= 50 for m in digest)
    texts = [b["text"]["text"] for m in digest for b in m.blocks]
    assert all(len(t) <= 3000 for t in texts)
    assert not any("<!here>" in t for t in texts)
    chart = slack.thread_messages(digest[0].ts)
    assert [f["name"] for f in chart[0].files] == ["digest.png", "opinion-map.png"]


async def test_channel_without_the_bot_gets_an_invitation_hint(slack, socket_bot, core):
    slack.add_channel("C0ELSEWHERE", "ailleurs", bot_member=False)
    answer = await slack.user_runs_command(FACILITATOR, "C0ELSEWHERE", "open", plan="sample")
    assert answer.ephemeral and "/invite @planbot" in answer.text
    assert answer.text.startswith("Je ne peux pas ouvrir de tour dans ce canal : il me manque "
                                  "l’accès au canal")
    assert core.store.rounds() == []  # checked before anything is opened

    slack.invite_bot("C0ELSEWHERE")
    again = await slack.user_runs_command(FACILITATOR, "C0ELSEWHERE", "open", plan="sample")
    round_id = core.store.round_for_channel("slack", "C0ELSEWHERE", open_only=True)
    assert again.text == f"Tour n° {public(core, round_id)} ouvert : 8 sections publiées."
    assert len([m for m in slack.messages("C0ELSEWHERE")
                if m.bot_id and not is_notice(m.text)]) == 8


@pytest.mark.allow_logged_errors
async def test_unexpected_failure_still_answers(slack, socket_bot, core):
    # Slack failing one post costs that section only: the others go out, the facilitator
    # is told which one failed and why.
    slack.fail_next("chat.postMessage", "internal_error")
    answer = await slack.user_runs_command(FACILITATOR, CHANNEL, "open", plan="sample")
    public_id = core.store.get_round(core.store.latest_round()).public_id
    assert answer.text == (
        f"Tour n° {public_id} ouvert : 7 sections publiées.\n"
        "Non publiées : `broadband` (internal_error). Relancez la même commande pour "
        "réessayer celles-ci seulement.")


async def test_locale_and_groups_are_looked_up_once_per_minute(slack, socket_bot):
    for _ in range(3):
        await slack.user_runs_command(GROUP_MEMBER, CHANNEL, "status")
    await slack.user_runs_command(ANA, CHANNEL, "status")
    assert [c.params["user"] for c in slack.calls("users.info")] == [GROUP_MEMBER, ANA]
    assert len(slack.calls("usergroups.list")) == 1


def public(core, round_id: int) -> str:
    """The round's id as people see it."""
    return core.store.get_round(round_id).public_id
