"""An opinion group smaller than the configured minimum is not described in a digest; its
members still count in the totals, the splits and the consensus figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.digests.build import MIN_GROUP, Period, build_digest
from bot.digests.render_html import render_html
from bot.digests.render_md import render_markdown
from bot.findings import analyse_round
from bot.identity import Pseudonymizer
from bot.polis import import_conversation
from tests.helpers import START, make_settings, make_store

POLIS = Path(__file__).resolve().parents[2] / "bot" / "data" / "polis"


def test_groups_under_the_minimum_are_counted_but_not_described(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'p.db'}")
    round_id, _ = import_conversation(store, Pseudonymizer("s" * 20),
                                      POLIS / "london.youth.policing", START)
    rnd = store.get_round(round_id)
    period = Period(rnd.opened_at, rnd.closed_at + timedelta(seconds=1))
    analysis = analyse_round(store, round_id, period.end)
    full = build_digest(store, round_id, period, analysis=analysis, min_group=1)
    smallest = min(g.size for g in full.groups)
    cut = build_digest(store, round_id, period, analysis=analysis, min_group=smallest + 1)

    hidden = {g.id for g in full.groups if g.size <= smallest}
    assert hidden and cut.hidden_groups == len(hidden) and cut.min_group == smallest + 1
    assert {g.id for g in cut.groups} == {g.id for g in full.groups} - hidden
    assert not [gs for s in cut.statements for gs in s.groups if gs.group in hidden]
    assert not [p for p in cut.opinion_map if p.group in hidden]
    # Its members still count: the same people, splits and consensus figures.
    assert cut.participation == full.participation and cut.clustered == full.clustered
    assert [(s.split, s.consensus) for s in cut.statements] == \
        [(s.split, s.consensus) for s in full.statements]
    letters = {g.letter for g in full.groups if g.id in hidden}
    for lang, note in (("en", f"fewer than {smallest + 1} people"),
                       ("fr", f"moins de {smallest + 1} personnes")):
        for text in (render_markdown(cut, lang), render_html(cut, None, lang)):
            assert note in text
            for name in letters:
                assert f"Group {name} (" not in text and f"Groupe {name} (" not in text
                assert f"{name} : " not in text and f"{name}: " not in text


def test_the_minimum_defaults_to_five_and_is_configurable(tmp_path, monkeypatch):
    assert MIN_GROUP == 5 and make_settings(tmp_path).digest_min_group == 5
    monkeypatch.setenv("PLANBOT_HOME", str(tmp_path))
    monkeypatch.setenv("DIGEST_MIN_GROUP_SIZE", "8")
    assert Settings.load().digest_min_group == 8
