"""The inbox's JSON form of neutral events (bot.wire): every kind and every field comes back
as it was recorded (a field lost here is lost for good once the inbox applies the row), in
the very text written before the encoder was sped up (rows already in an inbox stay
readable); delivery keys of events without ids never repeat, in a forked child either."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timedelta

import pytest

from bot import wire
from bot.events import (
    Actor,
    Emoji,
    PrivateVote,
    ProposalSubmitted,
    ReactionAdded,
    ReactionRemoved,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from tests.helpers import START

CH = dict(platform="slack", workspace_id="T1", channel_id="C1", occurred_at=START)
WHO = Actor("U1", "Zoé \ud800", is_bot=False)

EVERY_KIND = [
    ReactionAdded(**CH, actor=WHO, message_id="1.2", emoji=Emoji("+1::skin-tone-4"),
                  event_key="Ev1", backfill=True),
    ReactionRemoved(**CH, actor=WHO, message_id="1.2", emoji=Emoji("ok", custom_id="77")),
    ReactionsCleared(**CH, message_id="1.2"),
    ReactionsCleared(**CH, message_id="1.2", emoji=Emoji("👍")),
    ReplyPosted(**CH, actor=WHO, message_id="1.3", thread_id="1.0", text="avis ✓",
                parent_message_id="1.1", attachments=("plan.pdf", "carte.png"),
                edited_at=START + timedelta(minutes=3), backfill=True, broadcast=True),
    ReplyPosted(**CH, actor=WHO, message_id="1.4", thread_id="1.0", text="",
                text_withheld=True),
    ReplyEdited(**CH, message_id="1.3", text="revu", text_withheld=False),
    ReplyDeleted(**CH, message_id="1.3", event_key="Ev9"),
    PrivateVote(**CH, actor=WHO, statement_id=12, stance="disagree", event_key="I1"),
    PrivateVote(**CH, actor=WHO, statement_id=12, stance=None, event_key="I2"),
    ProposalSubmitted(**CH, actor=WHO, round_id=3, section_id=12, text="Une idée ✓",
                      author_agrees=False, event_key="V1"),
]


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: type(e).__name__)
def test_every_kind_round_trips(event):
    assert wire.decode(wire.encode(event)) == event


def first_encoding(event) -> str:
    """``wire.encode`` as first written: every field through ``dataclasses``."""
    fields = {"kind": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Actor | Emoji):
            value = dataclasses.astuple(value)
        fields[f.name] = value
    return json.dumps(fields, separators=(",", ":"))


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: type(e).__name__)
def test_the_payload_is_the_text_written_before(event):
    assert wire.encode(event) == first_encoding(event)


def test_keys_of_events_without_ids_never_repeat():
    reaction = EVERY_KIND[1]
    assert reaction.event_key is None
    keys = {wire.delivery_key(reaction) for _ in range(1000)}
    assert len(keys) == 1000 and all(len(k) <= wire.KEY_LIMIT for k in keys)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child writes a few keys of its own, then leaves at once
        os.write(write, "\n".join(wire.delivery_key(reaction) for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    mine = {wire.delivery_key(reaction) for _ in range(5)}
    assert len(theirs) == 5 and not theirs & (keys | mine)


def test_a_payload_it_did_not_write_is_refused():
    for payload in ('{"kind": "CommandInvoked"}', '{"kind": "ReplyDeleted"}', "[]"):
        with pytest.raises((ValueError, KeyError, TypeError)):
            wire.decode(payload)
