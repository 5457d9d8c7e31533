"""Slack Events API payloads -> neutral :mod:`bot.events` (opsdroid ``create_events`` style).

One function per payload kind; each returns a neutral event, or ``None`` for what planbot
ignores. Payload shapes: https://api.slack.com/events/reaction_added,
https://api.slack.com/events/message (subtypes ``thread_broadcast``, ``message_changed``,
``message_deleted``; a deleted parent that still has replies comes as ``message_changed``
whose nested message has subtype ``tombstone``).

Rules:

* ``event_key`` is ``"slack:" + event_id``: the same across Slack's retries, so the store
  can apply an event once however often it arrives.
* Messages from bots (``bot_id`` or subtype ``bot_message``) are ignored; so is the app's own
  user (``bot_user_id``), whose seed reactions come back as ``reaction_added``.
* A thread reply is a message whose ``thread_ts`` differs from its ``ts``; top-level messages
  are not replies. Text is unescaped (:func:`integrations.slack.mrkdwn.unescape`).
* An edit that leaves the text as it was (a link unfurl, a reply count update) changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.events import (
    Actor,
    Emoji,
    InboundEvent,
    ReactionAdded,
    ReactionRemoved,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from integrations.slack.mrkdwn import unescape

PLATFORM = "slack"
# A reply with a file attached comes as ``file_share`` and still carries the user's text.
# A reply also sent to the channel comes as ``thread_broadcast`` (``reply_broadcast`` in
# older payloads): one message, one reply, marked as broadcast.
_BROADCAST_SUBTYPES = ("thread_broadcast", "reply_broadcast")
_REPLY_SUBTYPES = (None, "file_share", *_BROADCAST_SUBTYPES)


def slack_time(ts: str | None) -> datetime:
    """A Slack ``ts``/``event_ts`` (``"1700000000.000100"``) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts or 0), UTC)


def event_key(body: dict[str, Any]) -> str | None:
    """``slack:<event_id>`` for an Events API body, ``None`` when it carries no id."""
    event_id = body.get("event_id")
    return f"{PLATFORM}:{event_id}" if event_id else None


def _common(body: dict, channel_id: str, ts: str | None) -> dict[str, Any]:
    return {
        "platform": PLATFORM,
        "workspace_id": body.get("team_id") or "",
        "channel_id": channel_id,
        "occurred_at": slack_time(ts),
        "event_key": event_key(body),
    }


def reaction_event(body: dict, bot_user_id: str | None) -> InboundEvent | None:
    """``reaction_added`` / ``reaction_removed`` on a message -> ReactionAdded/Removed."""
    event = body["event"]
    item = event.get("item") or {}
    if item.get("type") != "message" or not event.get("user") or not event.get("reaction"):
        return None
    user = event["user"]
    fields = _common(body, item.get("channel", ""), event.get("event_ts"))
    actor = Actor(user_id=user, is_bot=user == bot_user_id)
    cls = ReactionAdded if event["type"] == "reaction_added" else ReactionRemoved
    return cls(**fields, actor=actor, message_id=item.get("ts", ""), emoji=Emoji(event["reaction"]))


def file_names(message: dict) -> tuple[str, ...]:
    """Names of the files shared with a message (``files[].name``,
    https://api.slack.com/events/message/file_share)."""
    return tuple(str(f.get("name") or f.get("title") or "file")
                 for f in message.get("files") or [] if isinstance(f, dict))


def _from_bot(message: dict) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def message_event(body: dict, bot_user_id: str | None) -> InboundEvent | None:
    """A ``message`` event -> ReplyPosted / ReplyEdited / ReplyDeleted, or ``None``."""
    event = body["event"]
    subtype = event.get("subtype")
    channel = event.get("channel", "")
    if subtype == "message_changed":
        return _changed(body, event, channel)
    if subtype == "message_deleted":
        if not event.get("deleted_ts"):
            return None
        return ReplyDeleted(**_common(body, channel, event.get("event_ts") or event.get("ts")),
                            message_id=event["deleted_ts"])
    if subtype not in _REPLY_SUBTYPES or _from_bot(event) or event.get("user") in (None, bot_user_id):
        return None
    ts, thread_ts = event.get("ts"), event.get("thread_ts")
    if not ts or not thread_ts or thread_ts == ts:
        return None
    return ReplyPosted(**_common(body, channel, ts), actor=Actor(user_id=event["user"]),
                       message_id=ts, thread_id=thread_ts, text=unescape(event.get("text") or ""),
                       attachments=file_names(event), broadcast=subtype in _BROADCAST_SUBTYPES)


def _changed(body: dict, event: dict, channel: str) -> InboundEvent | None:
    message = event.get("message") or {}
    previous = event.get("previous_message") or {}
    when = event.get("event_ts") or event.get("ts")
    if not message.get("ts"):
        return None
    if message.get("subtype") == "tombstone":
        return ReplyDeleted(**_common(body, channel, when), message_id=message["ts"])
    if _from_bot(message) or message.get("text") == previous.get("text"):
        return None
    return ReplyEdited(**_common(body, channel, when), message_id=message["ts"],
                       text=unescape(message.get("text") or ""))


def reply_from_history(message: dict, *, workspace_id: str, channel_id: str,
                       bot_user_id: str | None) -> ReplyPosted | None:
    """A message from conversations.replies -> a backfill ReplyPosted, or ``None`` for the
    thread's parent, bots, tombstones and other subtypes."""
    ts, thread_ts = message.get("ts"), message.get("thread_ts")
    if (not ts or not thread_ts or ts == thread_ts or _from_bot(message)
            or message.get("subtype") not in _REPLY_SUBTYPES
            or message.get("user") in (None, bot_user_id)):
        return None
    return ReplyPosted(platform=PLATFORM, workspace_id=workspace_id, channel_id=channel_id,
                       occurred_at=slack_time(ts), backfill=True,
                       actor=Actor(user_id=message["user"]), message_id=ts, thread_id=thread_ts,
                       text=unescape(message.get("text") or ""), attachments=file_names(message),
                       edited_at=edited_at(message),
                       broadcast=message.get("subtype") in _BROADCAST_SUBTYPES)


def edited_at(message: dict) -> datetime | None:
    """When the message's text was last edited: its ``edited.ts``
    (https://api.slack.com/events/message/message_changed), ``None`` if never."""
    edited = message.get("edited")
    return slack_time(edited["ts"]) if isinstance(edited, dict) and edited.get("ts") else None
