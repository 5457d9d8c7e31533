"""Alembic migrations: the models and the migration history agree, on SQLite and PostgreSQL,
and every migration downgrades and upgrades again."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import alembic_config, create_store_engine, upgrade
from storage.models import Base


def test_models_match_migrations_and_round_trip(database_url):
    engine = create_store_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert MigrationContext.configure(conn).get_current_revision() == "0023_kept_from"
    engine.dispose()


def test_versions_migration_numbers_existing_edits_and_stances(database_url):
    """0012_versions on a store with history: a reply edited twice is at version 3, its edits
    are versions 1 and 2, its existing stances count for the current text; the table of
    pickled scheduler jobs is gone."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData, Table, text

    engine = create_store_engine(database_url)
    upgrade(engine, "0009_threads")
    at = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY)"))
        table = {name: Table(name, MetaData(), autoload_with=conn) for name in (
            "rounds", "statements", "participants", "stances", "statement_edits")}
        conn.execute(table["rounds"].insert(), {"id": 1, "name": "r", "language": "fr",
                                                "status": "open", "source": "chat",
                                                "opened_at": at})
        conn.execute(table["participants"].insert(), {"id": 1, "key_hash": "k" * 64,
                                                      "platform": "discord", "first_seen_at": at})
        for sid in (1, 2):
            conn.execute(table["statements"].insert(), {
                "id": sid, "round_id": 1, "kind": "reply", "text": "t", "text_withheld": False,
                "moderated": True, "created_at": at, "source": "live"})
            conn.execute(table["stances"].insert(), {
                "participant_id": 1, "statement_id": sid, "emoji_key": "👍", "emoji_raw": "👍",
                "stance": "agree", "source": "live", "platform": "discord", "added_at": at,
                "is_current": True})
        for previous in ("v1", "v2"):
            conn.execute(table["statement_edits"].insert(), {
                "statement_id": 1, "previous_text": previous, "replaced_at": at})
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, version FROM statements ORDER BY id")).all() == [
            (1, 3), (2, 1)]
        assert conn.execute(text("SELECT previous_text, version FROM statement_edits "
                                 "ORDER BY id")).all() == [("v1", 1), ("v2", 2)]
        assert conn.execute(text("SELECT statement_id, version FROM stances "
                                 "ORDER BY statement_id")).all() == [(1, 3), (2, 1)]
    assert "apscheduler_jobs" not in inspect(engine).get_table_names()
    engine.dispose()


def test_head_read_from_the_scripts_is_alembics():
    from alembic.script import ScriptDirectory

    from storage.db import script_head

    engine = create_store_engine("sqlite://")
    assert script_head() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_a_store_at_head_is_not_upgraded_again_one_behind_is(database_url, monkeypatch):
    """upgrade() leaves Alembic alone when the store is at the head (every command's start),
    and still upgrades a store one revision behind."""
    from alembic.script import ScriptDirectory

    from storage.db import at_head

    engine = create_store_engine(database_url)
    assert not at_head(engine)  # no alembic_version table yet
    upgrade(engine)
    assert at_head(engine)
    calls = []
    real = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda cfg, rev: calls.append(rev) or real(cfg, rev))
    upgrade(engine)
    assert calls == []
    head = ScriptDirectory.from_config(alembic_config(engine)).get_revision("head")
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, head.down_revision)
    assert not at_head(engine)
    upgrade(engine)
    assert calls == ["head"] and at_head(engine)
    engine.dispose()


def test_participant_ids_migration_keeps_the_rows_and_never_reuses_an_id(database_url):
    """0021_participant_ids on a store with participants that others' rows refer to: the
    rows and references stay, and the id of an erased newest participant is not handed to
    the next one (SQLite reused it before: the largest id in use plus one)."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData, Table, delete, text

    engine = create_store_engine(database_url)
    upgrade(engine, "0020_broadcast")
    at = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    with engine.begin() as conn:
        table = {name: Table(name, MetaData(), autoload_with=conn) for name in (
            "rounds", "statements", "participants", "stances")}
        conn.execute(table["rounds"].insert(), {"id": 1, "name": "r", "language": "fr",
                                                "status": "open", "source": "chat",
                                                "opened_at": at, "public_id": "p1"})
        author, voter = (conn.execute(
            table["participants"].insert().returning(table["participants"].c.id),
            {"key_hash": key * 64, "platform": "discord", "first_seen_at": at}).scalar_one()
            for key in "av")
        conn.execute(table["statements"].insert(), {
            "id": 1, "round_id": 1, "kind": "reply", "text": "t", "text_withheld": False,
            "moderated": True, "created_at": at, "source": "live", "author_id": author})
        conn.execute(table["stances"].insert(), {
            "participant_id": voter, "statement_id": 1, "emoji_key": "👍", "emoji_raw": "👍",
            "stance": "agree", "source": "live", "platform": "discord", "added_at": at,
            "is_current": True})
    upgrade(engine)
    participants = Table("participants", MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT author_id FROM statements")).scalar_one() == author
        assert conn.execute(text("SELECT participant_id FROM stances")).scalar_one() == voter
        conn.execute(text("DELETE FROM stances"))
        conn.execute(delete(participants).where(participants.c.id == voter))
        new = conn.execute(participants.insert().returning(participants.c.id), {
            "key_hash": "n" * 64, "platform": "discord", "first_seen_at": at}).scalar_one()
    assert new > voter
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


def test_kept_from_migration_keeps_earlier_imports_a_period_from_the_upgrade(database_url):
    """0023_kept_from: a round imported before it (closed on its original dates) is kept
    from the upgrade on; a chat round and an imported round already purged keep NULL (their
    period counts from closing, or is over)."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData, Table, text

    engine = create_store_engine(database_url)
    upgrade(engine, "0013_inbox")
    closed = datetime(2017, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        rounds = Table("rounds", MetaData(), autoload_with=conn)
        for rid, source, purged in ((1, "polis", None), (2, "chat", None), (3, "polis", closed)):
            conn.execute(rounds.insert(), {
                "id": rid, "name": "r", "language": "fr", "status": "closed", "source": source,
                "opened_at": closed, "closed_at": closed, "purged_at": purged,
                "public_id": f"r{rid}"})
    before = datetime.now(UTC).replace(microsecond=0)
    upgrade(engine)
    with engine.connect() as conn:
        kept = dict(conn.execute(text("SELECT id, kept_from FROM rounds")).all())
    assert kept[2] is None and kept[3] is None
    first = kept[1] if isinstance(kept[1], datetime) else datetime.fromisoformat(kept[1])
    assert first.replace(tzinfo=UTC) >= before
    engine.dispose()
