"""Migration 0010_scope upgrades the rounds a store already holds: each gets a random public
id and, as its place, the workspace of its first channel; the other places it was posted in
stay members, so a round shared by Discord and Slack before the upgrade stays shared."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage.db import create_store_engine, upgrade
from storage.records import Place
from storage.store import Store

AT = datetime(2026, 11, 2, tzinfo=UTC)


def test_existing_rounds_get_a_public_id_and_a_place(database_url):
    engine = create_store_engine(database_url)
    upgrade(engine, "0009_threads")
    with engine.begin() as conn:
        for rid, status in ((1, "open"), (2, "closed"), (3, "closed")):
            conn.execute(text("INSERT INTO rounds (id, name, language, status, source, opened_at) "
                              "VALUES (:id, 'r', 'fr', :status, 'chat', :at)"),
                         {"id": rid, "status": status, "at": AT})
        for rid, platform, workspace, channel in ((1, "discord", "g1", "c1"),
                                                  (1, "slack", "T1", "C1"),
                                                  (1, "discord", "g1", "c2"),
                                                  (2, "slack", "T9", "C9")):
            conn.execute(text("INSERT INTO round_channels (round_id, platform, workspace_id, "
                              "channel_id) VALUES (:r, :p, :w, :c)"),
                         {"r": rid, "p": platform, "w": workspace, "c": channel})
    upgrade(engine)
    store = Store(engine)
    shared, alone, imported = (store.get_round(i) for i in (1, 2, 3))
    assert shared.home == Place("discord", "g1")
    assert shared.places == {Place("discord", "g1"), Place("slack", "T1")}
    assert alone.home == Place("slack", "T9") and alone.places == {Place("slack", "T9")}
    assert imported.home is None and imported.places == frozenset()
    ids = {r.public_id for r in (shared, alone, imported)}
    assert len(ids) == 3 and all(len(i) == 10 and i.isalnum() for i in ids)
    assert store.round_by_public_id(shared.public_id).id == 1
    engine.dispose()
