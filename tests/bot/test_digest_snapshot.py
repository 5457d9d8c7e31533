"""A digest reads one consistent snapshot of the store, on SQLite and PostgreSQL: stances
written by another process while it is being built (here: right after its first query, from
another engine, as another ``planbot run`` would) are in none of its figures; and a digest
that reached no channel is not recorded as posted, the next one covering its period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from bot.digests.build import Period
from bot.publish import read_digest
from storage.db import create_store_engine
from storage.store import Store
from tests.bot.digest_fixtures import busy_round
from tests.helpers import START, RecordingPlatform, make_core

LATE = START + timedelta(days=6)
"""When the stances written meanwhile were taken: later than any of the busy round's."""


@pytest.fixture
def core(tmp_path, database_url):
    core = make_core(tmp_path, database_url=database_url)
    yield core
    core.close()


def write_during_first_read(store: Store, url: str, round_id: int) -> list[bool]:
    """Arrange for another engine to commit new stances (three new people agreeing with
    every section) just after ``store``'s engine runs its next read; returns a flag list
    that holds True once written."""
    other = Store(create_store_engine(url))
    sections = [r.id for r in other.statement_counts(round_id) if r.kind == "section"]
    written: list[bool] = []

    def writer(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if written or not statement.lstrip().upper().startswith("SELECT"):
            return
        written.append(True)
        for person in range(3):
            pid = other.participant(f"late-{person}", "slack", START)
            for sid in sections:
                other.add_reaction(event_key=None, participant_id=pid, statement_id=sid,
                                   platform="slack", emoji_key="+1", emoji_raw="+1",
                                   stance="agree", at=LATE,
                                   source="live")

    event.listen(store.engine, "after_cursor_execute", writer)
    return written


async def test_a_digest_sees_none_of_what_is_written_while_it_is_read(core, database_url):
    round_id, _ = await busy_round(core)
    store, tz = core.store, core.settings.timezone
    period = Period(START, START + timedelta(days=7))
    before, _ = read_digest(store, round_id, period, "en", tz)

    written = write_during_first_read(store, database_url, round_id)
    during, activity = read_digest(store, round_id, period, "en", tz)
    after, _ = read_digest(store, round_id, period, "en", tz)

    assert written == [True]
    assert during.to_json() == before.to_json()  # every figure from the first read's state
    assert activity.last is not None and activity.last < LATE  # the chart's reads too
    assert after.participation.people == before.participation.people + 3


class Down(RecordingPlatform):
    """A platform whose digest posts all fail (a channel gone, an outage)."""

    async def post_digest(self, channel, digest):
        raise ConnectionError("the platform is down")


@pytest.mark.allow_logged_errors  # each failed post is logged
async def test_a_digest_that_reached_no_channel_is_not_posted_and_the_next_covers_it(core):
    round_id, platforms = await busy_round(core)
    publisher = core.digest_publisher
    core.platforms.update({"discord": Down("discord"), "slack": Down("slack")})
    week = START + timedelta(days=7)
    failed = await publisher.publish(round_id, "weekly", end=week)
    assert failed.digest_id is None and failed.posted == []
    assert core.store.digests(round_id) == []

    core.platforms.update(platforms)  # back
    later = await publisher.publish(round_id, "weekly", end=week + timedelta(days=7))
    (digest,) = core.store.digests(round_id)
    assert digest.id == later.digest_id and digest.status == "posted"
    assert digest.period_start == core.store.get_round(round_id).opened_at  # its period too
    assert len(platforms["discord"].digests) == len(platforms["slack"].digests) == 1
