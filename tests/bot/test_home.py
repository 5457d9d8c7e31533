"""The store answers each database failure in its own plain words (fr and en), and refuses to
run with another participant secret than the one its pseudonyms were made with."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.config import Settings, default_home
from bot.errors import SetupError
from bot.home import open_store
from tests.conftest import _pg_available

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
SECRET = "first-secret-0123456789"


def _failure(url: str, tmp_path) -> SetupError:
    with pytest.raises(SetupError) as caught:
        open_store(url, SECRET, tmp_path, NOW)
    return caught.value


needs_pg = pytest.mark.skipif(not _pg_available(), reason="PostgreSQL is not running")


@needs_pg
@pytest.mark.parametrize(("url", "kind", "en", "fr"), [
    ("postgresql://postgres@127.0.0.1:5432/planbot_no_such_db", "missing_database",
     "database does not exist", "la base de données n'existe pas"),
    ("postgresql://planbot_no_such_role:pw@127.0.0.1:5432/test", "bad_credentials",
     "refused the user name or password", "refuse le nom d'utilisateur ou le mot de passe"),
    ("postgresql://postgres@127.0.0.1:1/test", "refused",
     "nothing accepts connections", "rien n'accepte de connexion"),
])
def test_each_postgresql_failure_is_told_apart(tmp_path, url, kind, en, fr):
    error = _failure(url, tmp_path)
    assert error.msgid == "db." + kind
    assert en in error.message("en") and fr in error.message("fr")
    assert "pw" not in error.message("en").split("DATABASE_URL")[1][:3]


def test_each_sqlite_failure_is_told_apart(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert _failure(f"sqlite:///{blocker}/sub/planbot.db", tmp_path).msgid == "db.cannot_open"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a SQLite database at all" * 100)
    assert _failure(f"sqlite:///{garbage}", tmp_path).msgid == "db.not_a_database"
    assert _failure("nonsense://", tmp_path).msgid == "db.missing_driver"
    assert _failure("::not a url", tmp_path).msgid == "db.bad_url"


def test_a_store_migrated_by_a_newer_planbot_is_named(tmp_path):
    path = tmp_path / "newer.db"
    open_store(f"sqlite:///{path}", SECRET, tmp_path, NOW).engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    error = _failure(f"sqlite:///{path}", tmp_path)
    assert error.msgid == "db.schema_newer"
    assert "newer planbot" in error.message("en") and "plus récent" in error.message("fr")


def test_another_secret_on_an_existing_store_is_refused(database_url, tmp_path):
    store = open_store(database_url, SECRET, tmp_path, NOW)
    store.engine.dispose()
    again = open_store(database_url, SECRET, tmp_path, NOW)  # same secret: fine
    again.engine.dispose()
    with pytest.raises(SetupError) as caught:
        open_store(database_url, "another-secret-0123456789", tmp_path / "elsewhere", NOW)
    assert caught.value.msgid == "store.secret_mismatch"
    text = caught.value.message("en")
    assert str(tmp_path / "elsewhere") in text and "PLANBOT_HOME" in text
    assert SECRET not in text and "another-secret" not in text
    assert "autre secret" in caught.value.message("fr")


def test_default_home_follows_xdg(tmp_path):
    assert default_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "planbot"
    assert default_home({"XDG_DATA_HOME": "relative/path"}).parts[-3:] == (
        ".local", "share", "planbot")
    assert default_home({}).parts[-3:] == (".local", "share", "planbot")


def test_home_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text("PLANBOT_LANGUAGE=en\nDIGEST_DAY=tue\n")
    first, second = tmp_path / "here", tmp_path / "elsewhere"
    for folder in (first, second):
        folder.mkdir()
    (second / ".env").write_text("DIGEST_DAY=fri\n")  # the working directory's .env wins
    env = {"PLANBOT_HOME": str(home)}
    monkeypatch.chdir(first)
    a = Settings.load(env)
    monkeypatch.chdir(second)
    b = Settings.load(env)
    assert a.data_dir == b.data_dir == home
    assert a.participant_secret == b.participant_secret
    assert (home / "participant.secret").stat().st_mode & 0o077 == 0
    assert a.database_url == b.database_url == f"sqlite:///{home / 'planbot.db'}"
    assert (a.language, a.digest_day, b.language, b.digest_day) == ("en", "tue", "en", "fri")


def test_home_defaults_to_xdg_and_may_come_from_the_local_env_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = Settings.load({"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert default.data_dir == tmp_path / "xdg" / "planbot"
    assert (default.data_dir / "participant.secret").is_file()
    (tmp_path / ".env").write_text("PLANBOT_HOME=relative-home\n")
    assert Settings.load({}).data_dir == tmp_path / "relative-home"
    assert Settings.load({"PLANBOT_DATA_DIR": "old-name"}, env_file=None).data_dir == \
        tmp_path / "old-name"
