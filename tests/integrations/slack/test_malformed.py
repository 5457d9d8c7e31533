"""Signed events of a wrong shape (a field of the wrong type, a ``ts`` that is no time):
each is acknowledged, logged without its content and dropped before the store, and the
events after it count as usual, on SQLite and PostgreSQL. Found by an adversarial tester:
before, some were answered 500 (Slack retries three times, an ERROR traceback each), and
one that reached the inbox stopped all applying for good."""

from __future__ import annotations

import asyncio
import logging

import pytest

from integrations.slack.translate import MalformedEvent, message_event, reaction_event
from tests.helpers import make_core
from tests.integrations.slack.conftest import (
    ANA,
    BEN,
    CHANNEL,
    FACILITATOR,
    FACILITATOR_GROUP,
    open_round,
    sections,
    start_bot,
)

SEC = "1700000000.000100"
"""A section message's ts in the unit cases (they never reach a store)."""


def reaction(**changes: object) -> dict:
    item = {"type": "message", "channel": CHANNEL, "ts": SEC}
    event: dict[str, object] = {"type": "reaction_added", "user": ANA, "reaction": "+1", "item": item,
             "event_ts": "1700000001.000200"}
    for key, value in changes.items():
        if key.startswith("item_"):
            event["item"] = {**item, key[5:]: value}
        else:
            event[key] = value
    return event


def reply(**changes: object) -> dict:
    return {"type": "message", "user": ANA, "text": "Bonne idée", "ts": "1700000002.000300",
            "thread_ts": SEC, "channel": CHANNEL, **changes}


MALFORMED = {
    "item a string": reaction(item="message"),
    "user an object": reaction(user={"id": ANA}),
    "reaction a list": reaction(reaction=["+1"]),
    "event_ts nan": reaction(event_ts="nan"),
    "event_ts 1e300": reaction(event_ts="1e300"),
    "item channel a list": reaction(item_channel=[CHANNEL]),
    "item ts a number": reaction(item_ts=17),
    "reply text a list": reply(text=["Bonne", "idée"]),
    "reply channel a list": reply(channel=[CHANNEL]),
    "reply ts a number": reply(ts=1700000002.0003),
    "reply files an object": reply(files={"name": "a.pdf"}),
    "edit message a string": reply(subtype="message_changed", message="Bonne idée"),
    "edit text a number": reply(subtype="message_changed",
                                message={"ts": "1700000002.000300", "text": 3}),
    "deletion deleted_ts a list": reply(subtype="message_deleted", deleted_ts=[SEC]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_translation_refuses_a_field_of_the_wrong_type(name):
    event = MALFORMED[name]
    translate = message_event if event["type"] == "message" else reaction_event
    with pytest.raises(MalformedEvent) as err:
        translate({"team_id": "T0", "event_id": "Ev1", "event": event}, "UBOT")
    assert ANA not in str(err.value) and CHANNEL not in str(err.value)


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_malformed_events_are_acknowledged_and_the_next_ones_count(
        mode, slack, tmp_path, database_url, caplog):
    caplog.set_level(logging.WARNING)
    core = make_core(tmp_path, database_url=database_url,
                     facilitator_ids=frozenset({FACILITATOR, FACILITATOR_GROUP}))
    bot = await start_bot(slack, core, mode)
    try:
        _, round_id, (sec, *_) = await open_round(slack, core)
        for name, event in MALFORMED.items():
            if event.get("thread_ts") == SEC:
                event = {**event, "thread_ts": sec}
            assert (await slack.send_event(event)).acked, name
        await slack.user_reacts(BEN, CHANNEL, sec, "+1")
        await slack.user_reacts(ANA, CHANNEL, sec, "+1")
        await asyncio.wait_for(core.settle(), 10)
        assert core.store.inbox_pending() == 0
        assert (await sections(core, round_id))["broadband"].agree == 2
        skipped = [r.getMessage() for r in caplog.records
                   if r.getMessage().startswith("skipped a malformed Slack event")]
        assert len(skipped) == len(MALFORMED)
        assert all(r.levelname == "WARNING" for r in caplog.records if r.name.startswith("integ"))
        assert not any(ANA in m or CHANNEL in m for m in skipped)
    finally:
        await bot.stop()
        core.close()
