"""The retention period of an imported conversation and the digest of a purged round, on
SQLite and PostgreSQL (``bot.privacy.Privacy.purge``, ``storage.privacy``)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.digests.build import Period, build_digest
from bot.digests.render_html import render_html
from bot.digests.render_md import render_markdown
from bot.identity import Pseudonymizer
from bot.polis import import_conversation
from bot.privacy import REDACTED
from tests.helpers import START, make_core

POLIS = Path(__file__).resolve().parents[2] / "bot" / "data" / "polis" / "london.youth.policing"


@pytest.fixture
async def imported(tmp_path, database_url):
    """A core whose clock reads ``START`` and the round imported from a Polis export then
    (its conversation closed years before)."""
    core = make_core(tmp_path, database_url=database_url, clock=ManualClock(START))
    round_id, _ = import_conversation(core.store, Pseudonymizer("s" * 20), POLIS, START)
    yield core, round_id
    core.close()


async def test_an_imported_round_is_kept_a_period_from_its_import(imported):
    core, round_id = imported
    rnd = core.store.get_round(round_id)
    assert rnd.closed_at is not None and rnd.closed_at < START - timedelta(days=365)
    core.clock.advance(timedelta(days=1))  # the first daily purge after the import
    assert await core.privacy.purge(dry_run=False) == []
    core.clock.advance(core.settings.retention_period - timedelta(days=1, hours=1))
    assert await core.privacy.purge(dry_run=True) == []
    core.clock.advance(timedelta(hours=2))
    (due,) = await core.privacy.purge(dry_run=False)
    assert due.round_id == round_id and due.replies > 0
    assert core.store.get_round(round_id).closed_at == rnd.closed_at  # the digest's dates
    assert {c.text for c in core.store.statement_counts(round_id)} == {None}


async def test_a_purged_statement_reads_as_redacted_in_every_digest(imported):
    core, round_id = imported
    core.clock.advance(core.settings.retention_period + timedelta(days=1))
    assert await core.privacy.purge(dry_run=False)
    rnd = core.store.get_round(round_id)
    digest = build_digest(core.store, round_id, Period(rnd.opened_at, rnd.closed_at),
                          language="fr", final=True)
    quoted = [h.statement for h in (*digest.common_ground, *digest.most_agreed)]
    assert quoted and {s.text for s in quoted} == {REDACTED}
    md = render_markdown(digest, "fr")
    assert "\n-  — " not in md
    assert "\n- \\[…\\] — " in md  # escaped: Markdown shows the brackets as they are
    assert REDACTED in render_html(digest, lang="fr")
    texts = {s["text"] for s in json.loads(json.dumps(digest.to_json()))["statements"]
             if s["in_analysis"]}
    assert texts == {REDACTED}
