"""Engine creation and schema upgrades.

``DATABASE_URL`` takes any SQLAlchemy URL. SQLite files get WAL journaling and a busy timeout
(https://www.sqlite.org/wal.html) so a reader never blocks the writer; PostgreSQL URLs written
``postgresql://`` use psycopg 3.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection

if TYPE_CHECKING:
    from alembic.config import Config

_log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_AT_LEAST = (3, 35, 0)
"""The oldest SQLite the store runs on: ``RETURNING`` came with 3.35.0
(https://www.sqlite.org/lang_returning.html), and the store's claims and the inbox's
record use it."""


class SqliteTooOld(Exception):
    """The SQLite library this Python is built with is older than ``SQLITE_AT_LEAST``."""


def require_sqlite(version: tuple[int, ...] = sqlite3.sqlite_version_info) -> None:
    """Raise :class:`SqliteTooOld` when ``version`` (by default this Python's SQLite) is
    older than ``SQLITE_AT_LEAST``."""
    if version < SQLITE_AT_LEAST:
        raise SqliteTooOld(f"SQLite {'.'.join(map(str, version))} is too old: planbot needs "
                           f"{'.'.join(map(str, SQLITE_AT_LEAST))} or later")


def normalise_url(url: str) -> str:
    """Return ``url`` with PostgreSQL pointed at the psycopg 3 driver.

    Raises ``sqlalchemy.exc.ArgumentError`` when the URL cannot be parsed.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_store_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys on.

    The parent folder of a SQLite file is created if missing, and the file itself is made
    owner-only (:func:`_owner_only`). SQL parameters (people's text and ids) are left out of
    error messages, which reach the logs. Raises :class:`SqliteTooOld` for a SQLite URL when
    this Python's SQLite is older than ``SQLITE_AT_LEAST``.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        require_sqlite()
        if parsed.database and parsed.database != ":memory:":
            _owner_only(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _owner_only(database: Path) -> None:
    """Create the SQLite file (and its folder, if missing) readable by its owner only:
    0600 and 0700. SQLite gives its ``-wal`` and ``-shm`` files the database file's mode
    (https://www.sqlite.org/tempfiles.html), so they are owner-only too."""
    for folder in reversed([p for p in database.parents if not p.is_dir()]):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o700)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        if database.stat().st_mode & 0o077:
            database.chmod(0o600)
    except OSError:
        pass  # unwritable or not ours: SQLite's own connection error says so, told apart


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL makes NORMAL durable against application crashes; only an OS crash can lose the tail.
    cur.execute("PRAGMA synchronous=NORMAL")
    # Erased and purged texts must not survive in free pages of the file (Law 25 erasure):
    # SQLite then overwrites deleted content with zeros (https://sqlite.org/pragma.html#pragma_secure_delete).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to ``engine`` (no alembic.ini needed)."""
    # Alembic is imported when a schema is upgraded, not with the engine: a command that
    # fails on its settings or its URL answers sooner (tests/test_startup.py).
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic ``upgrade``); safe to run on every start.

    A store already at the head (every start but the first after an upgrade of planbot) is
    left as it is without loading Alembic, which costs a quarter of a second at each
    command (:func:`at_head`)."""
    if revision == "head" and at_head(engine):
        return
    from alembic import command
    from alembic.util import CommandError

    try:
        with engine.begin() as conn:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except CommandError as err:
        raise SchemaError(str(err)) from err


class SchemaError(Exception):
    """Alembic could not upgrade the schema (its ``CommandError`` is the cause), e.g. the store
    is at a revision this code does not know. Callers catch it without importing Alembic."""


_REVISION = re.compile(r"^revision\b[^=\n]*=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.M)


def script_head() -> str | None:
    """The newest revision of ``storage/migrations/versions``, read from the files' own
    ``revision`` and ``down_revision`` lines (Alembic's script format); None unless there
    is exactly one head and every file names its revision."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if found is None or down is None:
            return None
        revisions.add(found.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the store's Alembic revision (table ``alembic_version``) is
    :func:`script_head`: then an upgrade has nothing to do. Reads only."""
    head = script_head()
    if head is None:
        return False
    with engine.connect() as conn:
        if not conn.dialect.has_table(conn, "alembic_version"):
            return False
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return current == [head]


# What the drivers say, matched in order (libpq's texts: src/interfaces/libpq/fe-connect.c and
# the server's auth.c / postinit.c, in English; SQLite's: https://www.sqlite.org/rescode.html).
_FAILURES = (
    ("missing_database", ("does not exist",), ("database",)),
    ("bad_credentials", ("password authentication failed", "role", "no password supplied",
                         "pg_hba.conf"), ()),
    ("refused", ("connection refused", "no such file or directory"), ()),
    ("unknown_host", ("could not translate host name", "failed to resolve host"), ()),
    ("timeout", ("timeout expired", "timed out"), ()),
    ("locked", ("database is locked",), ()),
    ("read_only", ("readonly database", "read-only"), ()),
    ("not_a_database", ("file is not a database", "database disk image is malformed"), ()),
    ("cannot_open", ("unable to open database file",), ()),
)


def failure_kind(error: BaseException) -> str:
    """Name the database failure behind ``error`` (a SQLAlchemy or driver exception):
    ``missing_database``, ``bad_credentials``, ``refused``, ``unknown_host``, ``timeout``,
    ``locked``, ``read_only``, ``not_a_database``, ``cannot_open``, ``missing_driver``,
    ``bad_url``, ``schema_newer`` (the store was migrated by a newer planbot), ``old_sqlite``
    (:class:`SqliteTooOld`) or ``other``.

    PostgreSQL connection failures carry no SQLSTATE in psycopg 3 (the server refuses before
    a session exists), so the driver's message is read; a server answering in another
    language than English gives ``other``.
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if isinstance(error, ModuleNotFoundError | NoSuchModuleError):
        return "missing_driver"
    if isinstance(error, ArgumentError):
        return "bad_url"
    if isinstance(error, OSError):  # the SQLite file's folder could not be created
        return "cannot_open"
    if isinstance(error, SchemaError) and "Can't locate revision" in str(error):
        return "schema_newer"
    if isinstance(error, SqliteTooOld):
        return "old_sqlite"
    text = str(getattr(error, "orig", None) or error).lower()
    for kind, phrases, also in _FAILURES:
        if any(p in text for p in phrases) and all(a in text for a in also):
            return kind
    return "other"


def schema_revision(engine: Engine) -> tuple[str | None, str, bool]:
    """``(current, head, known)``: the store's Alembic revision (None for an empty database),
    the newest this code knows, and whether this code knows ``current`` (False: a newer
    planbot migrated the store). Reads only. Raises ``SQLAlchemyError`` when the database is
    unreachable."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    return current, script.get_current_head() or "", known
