"""Neutral events as the inbox and the journal keep them: JSON, and a delivery key.

``encode(event)`` is compact JSON of the event's fields plus its kind (``"kind":
"ReactionAdded"``); datetimes are ISO 8601 with their UTC offset. ``decode`` reverses it and
raises ``ValueError`` (or ``KeyError``/``TypeError``) for a payload it cannot read.

The delivery key makes a second delivery of one happening one inbox row:

* the platform's own delivery id when it gives one (Slack's ``event_id``: ``event_key``);
* otherwise the ids of the happening itself, for the kinds that have them: a message posted
  (``post``: channel and message id), an edit (``edit``: message id and edit time), a
  deletion (``delete``);
* a reaction on Discord has neither (the gateway dispatch carries no id nor time): a key of
  its own, so each dispatch is its own row; a re-dispatch is then applied as it always was,
  by state (adding a present reaction or removing an absent one changes nothing).

That last key is ``any:<prefix>:<n>``: 128 random bits drawn once per process (and again in
a forked child) and a counter. Two keys of one process differ by the counter; two processes,
or one process before and after a restart, share a key only if they drew the same prefix, a
chance of about ``k**2 / 2**129`` over ``k`` processes ever started, as unlikely as two
``uuid4`` colliding (122 random bits), at one random draw per process instead of one
``os.urandom`` call per event.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import secrets
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple, get_args

from bot.events import Actor, Emoji, InboundEvent, ReplyDeleted, ReplyEdited, ReplyPosted
from storage.inbox import partition_of
from storage.records import NewInboxRow

KINDS: dict[str, type[InboundEvent]] = {cls.__name__: cls for cls in get_args(InboundEvent)}
"""Every kind of inbound event (``bot.events.InboundEvent``), by name."""
KEY_LIMIT = 200
"""Characters of a delivery key (``inbox.delivery_key``)."""


class _Shape(NamedTuple):
    """How one kind is written: ``values(event)`` gives its fields in declaration order
    (``names``); ``times`` are its datetime fields (ISO 8601 in the JSON), ``nested`` its
    Actor and Emoji fields (a JSON array of their fields, as ``dataclasses.astuple``)."""

    names: tuple[str, ...]
    values: Callable[[Any], tuple[Any, ...]]
    times: tuple[str, ...]
    nested: tuple[str, ...]


def _shape(cls: type) -> _Shape:
    fields = dataclasses.fields(cls)
    # Annotations are strings here (``from __future__ import annotations`` in bot.events).
    return _Shape(tuple(f.name for f in fields), attrgetter(*(f.name for f in fields)),
                  tuple(f.name for f in fields if "datetime" in str(f.type)),
                  tuple(f.name for f in fields if {"Actor", "Emoji"} & set(str(f.type).split())))


_SHAPES = {cls: _shape(cls) for cls in (*KINDS.values(), Actor, Emoji)}
"""Read once: ``dataclasses.fields`` and ``astuple`` on every event were a tenth of a
capture's cost (``bench/bench_discord.py``)."""
# ASCII: a lone surrogate (invalid UTF-8) in user text is kept as an escape, not refused.
_JSON = json.JSONEncoder(separators=(",", ":"))


def encode(event: InboundEvent) -> str:
    """The event as compact JSON (module docstring)."""
    cls = type(event)
    shape = _SHAPES[cls]
    fields: dict[str, Any] = {"kind": cls.__name__}
    fields.update(zip(shape.names, shape.values(event), strict=True))
    for name in shape.times:
        if fields[name] is not None:
            fields[name] = fields[name].isoformat()
    for name in shape.nested:
        if fields[name] is not None:
            fields[name] = _SHAPES[type(fields[name])].values(fields[name])
    return _JSON.encode(fields)


def decode(payload: str) -> InboundEvent:
    """The event ``payload`` holds; raises ``ValueError``, ``KeyError`` or ``TypeError``
    when it is not one ``encode`` wrote."""
    fields = json.loads(payload)
    cls = KINDS[fields.pop("kind")]
    for name in _SHAPES[cls].times:
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
        key = f"any:{_own_keys.prefix}:{next(_own_keys.counter)}"
    return key[:KEY_LIMIT]


class _OwnKeys:
    """The process's source of keys for events without ids (module docstring)."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        """A fresh random prefix and counter (at import, and in a forked child, which would
        otherwise repeat its parent's keys)."""
        self.prefix = secrets.token_hex(16)
        self.counter = itertools.count()


_own_keys = _OwnKeys()
os.register_at_fork(after_in_child=_own_keys.renew)


def inbox_row(event: InboundEvent, received_at: datetime) -> NewInboxRow:
    """The inbox row that records ``event``, received at ``received_at``."""
    return NewInboxRow(event.platform, delivery_key(event),
                       partition_of(event.platform, event.channel_id), encode(event),
                       received_at)
