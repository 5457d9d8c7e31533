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
* A field of the wrong type (an id, ``ts`` or text that is no string, an ``item`` that is no
  object) or a ``ts`` that is no time (``"nan"``, ``"1e300"``) raises :class:`MalformedEvent`:
  such an event is skipped whole (:mod:`integrations.slack.events`), before it reaches the
  store, where a list or a number in place of an id would make the statement invalid.
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


class MalformedEvent(ValueError):
    """A Slack event with a field of the wrong type or value; ``field`` is the field's name
    (never its value, which may be someone's text or id)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"malformed field {field!r}")
        self.field = field


def _str(obj: dict, key: str) -> str | None:
    """``obj[key]`` when it is a string, ``None`` when absent or null; raises
    :class:`MalformedEvent` for any other type."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedEvent(key)


def _obj(obj: dict, key: str) -> dict:
    """``obj[key]`` when it is an object, ``{}`` when absent or null; raises
    :class:`MalformedEvent` for any other type."""
    value = obj.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise MalformedEvent(key)


def slack_time(ts: str | None) -> datetime:
    """A Slack ``ts``/``event_ts`` (``"1700000000.000100"``) as an aware UTC datetime;
    raises :class:`MalformedEvent` for one that is no number, or none a datetime can hold
    (``"nan"``, ``"1e300"``)."""
    try:
        return datetime.fromtimestamp(float(ts or 0), UTC)
    except (TypeError, ValueError, OverflowError):  # nan: ValueError; 1e300: OverflowError
        raise MalformedEvent("ts") from None


def event_key(body: dict[str, Any]) -> str | None:
    """``slack:<event_id>`` for an Events API body, ``None`` when it carries no id; raises
    :class:`MalformedEvent` for an id that is no string."""
    event_id = _str(body, "event_id")
    return f"{PLATFORM}:{event_id}" if event_id else None


def _common(body: dict, channel_id: str, ts: str | None) -> dict[str, Any]:
    return {
        "platform": PLATFORM,
        "workspace_id": _str(body, "team_id") or "",
        "channel_id": channel_id,
        "occurred_at": slack_time(ts),
        "event_key": event_key(body),
    }


def reaction_event(body: dict, bot_user_id: str | None) -> InboundEvent | None:
    """``reaction_added`` / ``reaction_removed`` on a message -> ReactionAdded/Removed;
    raises :class:`MalformedEvent`."""
    event = body["event"]
    item = _obj(event, "item")
    user, reaction = _str(event, "user"), _str(event, "reaction")
    if item.get("type") != "message" or not user or not reaction:
        return None
    fields = _common(body, _str(item, "channel") or "", _str(event, "event_ts"))
    actor = Actor(user_id=user, is_bot=user == bot_user_id)
    cls = ReactionAdded if event["type"] == "reaction_added" else ReactionRemoved
    return cls(**fields, actor=actor, message_id=_str(item, "ts") or "", emoji=Emoji(reaction))


def file_names(message: dict) -> tuple[str, ...]:
    """Names of the files shared with a message (``files[].name``,
    https://api.slack.com/events/message/file_share); raises :class:`MalformedEvent` when
    ``files`` is no list."""
    files = message.get("files") or []
    if not isinstance(files, list):
        raise MalformedEvent("files")
    return tuple(str(f.get("name") or f.get("title") or "file")
                 for f in files if isinstance(f, dict))


def _from_bot(message: dict) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def message_event(body: dict, bot_user_id: str | None) -> InboundEvent | None:
    """A ``message`` event -> ReplyPosted / ReplyEdited / ReplyDeleted, or ``None``;
    raises :class:`MalformedEvent`."""
    event = body["event"]
    subtype = event.get("subtype")
    channel = _str(event, "channel") or ""
    when = _str(event, "event_ts") or _str(event, "ts")
    if subtype == "message_changed":
        return _changed(body, event, channel, when)
    if subtype == "message_deleted":
        deleted = _str(event, "deleted_ts")
        return ReplyDeleted(**_common(body, channel, when), message_id=deleted) if deleted else None
    user = _str(event, "user")
    if subtype not in _REPLY_SUBTYPES or _from_bot(event) or user is None or user == bot_user_id:
        return None
    ts, thread_ts = _str(event, "ts"), _str(event, "thread_ts")
    if not ts or not thread_ts or thread_ts == ts:
        return None
    return ReplyPosted(**_common(body, channel, ts), actor=Actor(user_id=user),
                       message_id=ts, thread_id=thread_ts, text=unescape(_str(event, "text") or ""),
                       attachments=file_names(event), broadcast=subtype in _BROADCAST_SUBTYPES)


def _changed(body: dict, event: dict, channel: str, when: str | None) -> InboundEvent | None:
    message = _obj(event, "message")
    previous = _obj(event, "previous_message")
    ts = _str(message, "ts")
    if not ts:
        return None
    if message.get("subtype") == "tombstone":
        return ReplyDeleted(**_common(body, channel, when), message_id=ts)
    text = _str(message, "text")
    if _from_bot(message) or text == previous.get("text"):
        return None
    return ReplyEdited(**_common(body, channel, when), message_id=ts, text=unescape(text or ""))


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
