"""The analysis state store: one JSON document per round, replaced by each update, on SQLite
and PostgreSQL."""

from datetime import UTC, datetime, timedelta

from tests.helpers import make_store

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_state_is_saved_replaced_and_kept_per_round(database_url):
    store = make_store(database_url)
    a = store.import_conversation(name="a", language="fr", opened_at=T0, closed_at=T0,
                                  source_hash="a", platform="polis", participants=[],
                                  statements=[], votes=[], now=T0)
    b = store.import_conversation(name="b", language="fr", opened_at=T0, closed_at=T0,
                                  source_hash="b", platform="polis", participants=[],
                                  statements=[], votes=[], now=T0)
    assert store.analysis_state(a) is None
    first = {"fingerprint": "f1", "in_conv": ["1", "2"], "letters": {"A": ["1"]}}
    store.save_analysis_state(a, "f1", first, T0)
    store.save_analysis_state(b, "g1", {"fingerprint": "g1"}, T0)
    assert store.analysis_state(a) == first
    second = dict(first, fingerprint="f2", in_conv=["1", "2", "3"])
    store.save_analysis_state(a, "f2", second, T0 + timedelta(days=7))
    assert store.analysis_state(a) == second
    assert store.analysis_state(b) == {"fingerprint": "g1"}
    store.engine.dispose()
