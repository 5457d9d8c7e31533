"""The app manifest declares what the app uses: every event has a listener, every method a scope."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integrations.slack.conftest import ANA, CHANNEL, open_round

MANIFEST = Path(__file__).parents[3] / "integrations" / "slack" / "manifest.yml"

# Scope each Web API method needs (https://api.slack.com/methods, "Required scopes").
METHOD_SCOPES = {
    "auth.test": None, "apps.connections.open": None,  # app token, connections:write
    "chat.postMessage": "chat:write", "chat.update": "chat:write",
    "reactions.add": "reactions:write", "reactions.get": "reactions:read",
    "conversations.replies": "channels:history", "users.info": "users:read",
    "usergroups.list": "usergroups:read", "files.getUploadURLExternal": "files:write",
    "conversations.info": "channels:read",
    "files.completeUploadExternal": "files:write",
}


def _list_under(key: str) -> list[str]:
    """Items of the YAML block list under ``key:`` (the manifest keeps lists one per line)."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        match = re.match(r"\s*- ([^\s#]+)", line)
        if match:
            items.append(match.group(1))
    return items


def test_manifest_declares_the_command_and_socket_mode():
    text = MANIFEST.read_text(encoding="utf-8")
    assert "- command: /planbot" in text and "should_escape: true" in text
    assert "socket_mode_enabled: true" in text


def test_manifest_turns_interactivity_on_and_names_every_subcommand():
    """Slack sends button clicks and modal submissions only to an app with interactivity on:
    without it Vote, my-stances, moderate and the forget-me confirmation would do nothing."""
    from integrations.slack.commands import POSITIONAL

    text = MANIFEST.read_text(encoding="utf-8")
    assert re.search(r"interactivity:\n(?:\s*#.*\n)*\s+is_enabled: true", text)
    hint = re.search(r'usage_hint: "(.*)"', text)
    assert hint is not None
    named = {part.split()[0] for part in hint.group(1).split(" | ")}
    assert set(POSITIONAL) <= named, set(POSITIONAL) - named


async def test_every_subscribed_event_has_a_listener(slack, slackbot):
    """Bolt answers 404 to an event without a listener, and Slack would retry it."""
    kinds = {name.split(".")[0] for name in _list_under("bot_events")}
    assert kinds == {"message", "reaction_added", "reaction_removed"}
    for kind in sorted(kinds):
        event = {"type": kind, "user": ANA, "channel": CHANNEL, "ts": "1.000001",
                 "reaction": "tada", "item": {"type": "message", "channel": CHANNEL,
                                              "ts": "1.000001"}}
        result = await slack.send_event(event)
        assert result.acked, kind
    assert all(a.outcome == "acked" for a in slack.delivery.attempts)


async def test_every_method_used_has_its_scope(slack, slackbot, core):
    _, _, (broadband, _) = await open_round(slack, core)
    await slack.user_reacts(ANA, CHANNEL, broadband, "+1")
    await slackbot.reconcile()
    scopes = set(_list_under("bot"))
    used = {call.method for call in slack.requests} - {"response_url"}
    assert used <= METHOD_SCOPES.keys()
    assert {METHOD_SCOPES[m] for m in used} - {None} <= scopes
    assert {"commands", "groups:history", "files:write"} <= scopes
