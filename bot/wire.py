"""Neutral events as the inbox and the journal keep them: JSON, and a delivery key.

``encode(event)`` is compact JSON of the event's fields plus its kind (``"kind":
"ReactionAdded"``); datetimes are ISO 8601 with their UTC offset. ``decode`` reverses it and
raises ``ValueError`` (or ``KeyError``/``TypeError``) for a payload it cannot read.

The delivery key makes a second delivery of one happening one inbox row:

* the platform's own delivery id when it gives one (Slack's ``event_id``: ``event_key``);
* otherwise the ids of the happening itself, for the kinds that have them: a message posted
  (``post``: channel and message id), an edit (``edit``: message id and edit time), a
  deletion (``delete``);
* a reaction on Discord has neither (the gateway dispatch carries no id nor time): a random
  key, so each dispatch is its own row; a re-dispatch is then applied as it always was, by
  state (adding a present reaction or removing an absent one changes nothing).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime
from typing import Any, get_args

from bot.events import Actor, Emoji, InboundEvent, ReplyDeleted, ReplyEdited, ReplyPosted
from storage.inbox import partition_of
from storage.records import NewInboxRow

KINDS: dict[str, type[InboundEvent]] = {cls.__name__: cls for cls in get_args(InboundEvent)}
"""Every kind of inbound event (``bot.events.InboundEvent``), by name."""
_TIMES: dict[type[InboundEvent], tuple[str, ...]] = {cls: tuple(
    f.name for f in dataclasses.fields(cls) if "datetime" in str(f.type)) for cls in KINDS.values()}
"""Each kind's datetime fields (``occurred_at``, ``edited_at``), ISO 8601 in the JSON."""
KEY_LIMIT = 200
"""Characters of a delivery key (``inbox.delivery_key``)."""


def encode(event: InboundEvent) -> str:
    """The event as compact JSON (module docstring)."""
    fields: dict[str, Any] = {"kind": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Actor | Emoji):
            value = dataclasses.astuple(value)
        fields[f.name] = value
    # ASCII: a lone surrogate (invalid UTF-8) in user text is kept as an escape, not refused.
    return json.dumps(fields, separators=(",", ":"))


def decode(payload: str) -> InboundEvent:
    """The event ``payload`` holds; raises ``ValueError``, ``KeyError`` or ``TypeError``
    when it is not one ``encode`` wrote."""
    fields = json.loads(payload)
    cls = KINDS[fields.pop("kind")]
    for name in _TIMES[cls]:
        if fields.get(name) is not None:
            fields[name] = datetime.fromisoformat(fields[name])
    if "actor" in fields:
        fields["actor"] = Actor(*fields["actor"])
    if fields.get("emoji") is not None:
        fields["emoji"] = Emoji(*fields["emoji"])
    if "attachments" in fields:
        fields["attachments"] = tuple(fields["attachments"])
    return cls(**fields)


def delivery_key(event: InboundEvent) -> str:
    """The key that makes a re-delivery of ``event`` the same inbox row (module docstring),
    at most ``KEY_LIMIT`` characters."""
    if event.event_key:
        key = f"id:{event.event_key}"
    elif isinstance(event, ReplyPosted):
        key = f"post:{event.channel_id}:{event.message_id}"
    elif isinstance(event, ReplyEdited):
        key = f"edit:{event.channel_id}:{event.message_id}:{event.occurred_at.isoformat()}"
    elif isinstance(event, ReplyDeleted):
        key = f"delete:{event.channel_id}:{event.message_id}"
    else:
        key = f"any:{uuid.uuid4().hex}"
    return key[:KEY_LIMIT]


def inbox_row(event: InboundEvent, received_at: datetime) -> NewInboxRow:
    """The inbox row that records ``event``, received at ``received_at``."""
    return NewInboxRow(event.platform, delivery_key(event),
                       partition_of(event.platform, event.channel_id), encode(event),
                       received_at)
