"""Pure parts of the Slack adapter: escaping, command parsing, event translation."""

from __future__ import annotations

import pytest

from bot.events import ReactionAdded, ReplyDeleted, ReplyEdited, ReplyPosted
from integrations.slack.commands import ParsedCommand, UsageError, parse_command
from integrations.slack.mrkdwn import escape, markdown_to_mrkdwn, unescape
from integrations.slack.platform import short_name
from integrations.slack.translate import message_event, reaction_event


@pytest.mark.parametrize("text", ["<!channel>", "<!here> & <@U123|x>", "a &amp; b", "&lt;"])
def test_escape_round_trips_and_hides_control_syntax(text):
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert unescape(escaped) == text


def test_markdown_becomes_mrkdwn():
    md = "# Titre\n**gras** et [lien](https://ex.org/?a=1&b=2)\n- point <b>"
    assert markdown_to_mrkdwn(md) == (
        "*Titre*\n*gras* et <https://ex.org/?a=1&amp;b=2|lien>\n• point &lt;b&gt;")


@pytest.mark.parametrize("text, expected", [
    ("open plan=sample sections=a,b closes=7d",
     ParsedCommand("open", {"plan": "sample", "sections": "a,b", "closes": "7d"})),
    ("open sample a,b 2026-12-24", ParsedCommand("open", {"plan": "sample", "sections": "a,b",
                                                          "closes": "2026-12-24"})),
    ("OPEN sections=a sample channel=<#C0ABC|plan>",
     ParsedCommand("open", {"sections": "a", "plan": "sample", "channel": "C0ABC"})),
    ("digest now", ParsedCommand("digest")),
    ("list plans", ParsedCommand("plans")),
    ("fermer 3", ParsedCommand("close", {"round": "3"})),
    ("", ParsedCommand("help")),
    ("aide", ParsedCommand("help")),
    ("open sample stances=private", ParsedCommand("open", {"plan": "sample",
                                                           "stances": "private"})),
    ("voter", ParsedCommand("vote")),
])
def test_parse_command(text, expected):
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ["frobnicate", "open", "open plan=a plan=b", "close 1 2",
                                  "status colour=red", "open plan="])
def test_parse_command_refuses(text):
    with pytest.raises(UsageError):
        parse_command(text)


def test_short_names_for_seeds():
    assert [short_name(e) for e in ("👍", "👎\ufe0f", "🤷", ":tada:", "🦄")] == [
        "+1", "-1", "shrug", "tada", None]


def _body(event: dict) -> dict:
    return {"team_id": "T1", "event_id": "Ev1", "event": event}


def test_translate_reaction_keeps_skin_tone_for_the_core():
    event = reaction_event(_body({"type": "reaction_added", "user": "U1",
                                  "reaction": "+1::skin-tone-4", "event_ts": "10.5",
                                  "item": {"type": "message", "channel": "C1", "ts": "9.1"}}), "UB")
    assert isinstance(event, ReactionAdded)
    assert (event.event_key, event.message_id, event.emoji.name, event.actor.is_bot) == (
        "slack:Ev1", "9.1", "+1::skin-tone-4", False)
    assert event.occurred_at.tzinfo is not None


def test_translate_messages():
    reply = {"type": "message", "user": "U1", "text": "a &lt; b", "ts": "2.0", "thread_ts": "1.0",
             "channel": "C1"}
    assert isinstance(message_event(_body(reply), "UB"), ReplyPosted)
    assert message_event(_body({**reply, "subtype": "thread_broadcast"}), "UB").text == "a < b"
    assert message_event(_body({**reply, "bot_id": "B1"}), "UB") is None
    assert message_event(_body({**reply, "subtype": "bot_message"}), "UB") is None
    assert message_event(_body({**reply, "thread_ts": None}), "UB") is None
    assert message_event(_body({**reply, "subtype": "channel_join"}), "UB") is None
    assert message_event(_body({**reply, "subtype": "file_share"}), "UB").text == "a < b"
    changed = {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "3.0",
               "message": {**reply, "text": "new"}, "previous_message": reply}
    assert isinstance(message_event(_body(changed), "UB"), ReplyEdited)
    unfurl = {**changed, "message": {**reply, "attachments": [{}]}}
    assert message_event(_body(unfurl), "UB") is None
    tomb = {**changed, "message": {"ts": "1.0", "subtype": "tombstone", "text": "deleted"}}
    assert message_event(_body(tomb), "UB") == ReplyDeleted(
        platform="slack", workspace_id="T1", channel_id="C1",
        occurred_at=message_event(_body(tomb), "UB").occurred_at, event_key="slack:Ev1",
        message_id="1.0")
    deleted = {"type": "message", "subtype": "message_deleted", "channel": "C1", "ts": "4.0",
               "deleted_ts": "2.0"}
    assert message_event(_body(deleted), "UB").message_id == "2.0"


def test_my_data_file_is_carried_whole_in_parts_or_said_to_be_cut():
    """A JSON export in ephemeral parts: each part within Slack's limit, no entity split
    across parts, the parts joined give the file back; more than Slack's response_url
    takes says it was cut, in the caller's language."""
    from html import unescape

    from integrations.slack.slash import FILE_TEXT_LIMIT, _carried

    data = ("R&D " * 9000).encode()
    parts = _carried({"my-data.json": data}, "en")
    assert all(len(p) <= FILE_TEXT_LIMIT + 40 for p in parts)
    bodies = [p.split("```")[1] for p in parts]
    assert all(not b.endswith("&amp") and not b.startswith(";") for b in bodies)
    assert unescape("".join(bodies)) == data.decode()
    cut = _carried({"my-data.json": data * 5}, "fr")
    assert len(cut) == 4 and "coupé" in cut[-1] and "planbot privacy export" in cut[-1]
