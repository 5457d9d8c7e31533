"""``planbot backup``: a consistent SQLite copy taken while the store is in use, the secret
beside it; for PostgreSQL the pg_dump command, without the password."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.errors import SetupError
from bot.home import open_store
from bot.plans import import_plan, sample_plan_paths
from bot.service.backup import backup
from tests.helpers import make_settings

NOW = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)


def test_sqlite_backup_while_the_store_is_open(tmp_path):
    settings = make_settings(tmp_path, participant_secret="x" * 20)
    (tmp_path / "participant.secret").write_text("x" * 20)
    store = open_store(settings.database_url, settings.participant_secret, tmp_path, NOW)
    version, _ = import_plan(store, sample_plan_paths(), NOW)
    with store.engine.connect() as busy:  # a reader holds the WAL open meanwhile
        busy.exec_driver_sql("SELECT count(*) FROM plans").scalar()
        done = backup(settings, tmp_path / "backups", NOW)
    assert done.database == tmp_path / "backups" / "planbot-20261202-073000.db"
    with sqlite3.connect(done.database) as copy:
        assert copy.execute("SELECT count(*) FROM sections").fetchone()[0] == \
            len(version.sections)
    assert done.secret.read_text() == "x" * 20
    assert done.secret.stat().st_mode & 0o777 == 0o600
    restored = open_store(f"sqlite:///{done.database}", "x" * 20, tmp_path, NOW)
    assert [p[0] for p in restored.list_plans()] == ["sample"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_backup_says_what_to_run_without_the_password(tmp_path, database_url):
    # The local server trusts the connection: the password is never asked for.
    url = database_url.replace("postgres@", "postgres:S3CRET@")
    settings = make_settings(tmp_path, database_url=url)
    done = backup(settings, tmp_path / "b", NOW)
    assert done.database is None
    assert done.command.startswith("pg_dump --format=custom --file=")
    assert "postgres@127.0.0.1:5432/test" in done.command and "S3CRET" not in done.command


def test_a_backup_refuses_a_secret_the_store_was_not_written_with(tmp_path, database_url):
    """Every command refuses a store written with another participant secret; so does the
    backup, before writing anything: restored with that secret, the store would see every
    returning participant as a new person."""
    open_store(database_url, "a" * 20, tmp_path, NOW).engine.dispose()
    settings = make_settings(tmp_path, database_url=database_url, participant_secret="b" * 20)
    (tmp_path / "participant.secret").write_text("b" * 20)
    with pytest.raises(SetupError) as refused:
        backup(settings, tmp_path / "backups", NOW)
    assert refused.value.msgid == "store.secret_mismatch"
    assert not (tmp_path / "backups").exists()
