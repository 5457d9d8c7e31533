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
        assert MigrationContext.configure(conn).get_current_revision() == "0010_scope"
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
