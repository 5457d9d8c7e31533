"""``planbot backup DIR``: a consistent copy of the store and of the participant secret.

SQLite: SQLite's online backup API (https://www.sqlite.org/backup.html, Python's
``sqlite3.Connection.backup``) copies the database page by page while planbot keeps
running; the copy is then checked with ``PRAGMA integrity_check``. PostgreSQL: planbot
prints the ``pg_dump`` command to run (it has no business holding a server's tools), with
the password left out of it. Either way the participant secret is copied too: without it,
a restored store cannot recognise returning participants (``bot.home``). A secret the store
was not written with is refused, as every other command refuses it: its copy would restore
a store in which every returning participant is a new person.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from bot.config import Settings
from bot.errors import SetupError
from bot.files import private_dir, write_private
from bot.identity import secret_fingerprint
from storage.db import create_store_engine
from storage.store import Store


@dataclass(frozen=True)
class Backup:
    """What was written: the database copy (None for PostgreSQL), the secret's copy (None
    when the secret comes from ``PARTICIPANT_SECRET``), and for PostgreSQL the command the
    operator should run."""

    database: Path | None
    secret: Path | None
    command: str | None


def backup(settings: Settings, folder: Path, now: datetime) -> Backup:
    """Back up the store of ``settings`` into ``folder`` (created if missing), files named
    after ``now`` (UTC, ``planbot-YYYYmmdd-HHMMSS``). Raises :class:`SetupError`
    ``store.secret_mismatch`` before writing anything when the store was written with
    another participant secret, ``sqlite3.Error`` or ``OSError`` when the copy fails
    (``FileNotFoundError`` without a SQLite file), ``ValueError`` when the copy is damaged,
    ``SQLAlchemyError`` when the database cannot be read."""
    stem = f"planbot-{now:%Y%m%d-%H%M%S}"
    url = make_url(settings.database_url)
    sqlite = url.get_backend_name() == "sqlite"
    source = Path(url.database or "")
    if sqlite and not source.is_file():
        raise FileNotFoundError(2, "no SQLite database here yet", str(source))
    _refuse_another_secret(settings)
    private_dir(folder)
    database = command = None
    if sqlite:
        database = folder / f"{stem}.db"
        _sqlite_backup(source, database)
    else:
        safe = URL.create("postgresql", url.username, None, url.host, url.port, url.database,
                          url.query)
        command = (f"pg_dump --format=custom --file={folder / (stem + '.dump')} "
                   f"'{safe.render_as_string(hide_password=False)}'")
    return Backup(database, _copy_secret(settings, folder), command)


def _refuse_another_secret(settings: Settings) -> None:
    """Raise ``SetupError`` when the store holds the fingerprint of another participant
    secret than ``settings``' (``bot.home.open_store`` refuses such a store the same way);
    a store that recorded none yet has no participant to recognise."""
    engine = create_store_engine(settings.database_url)
    try:
        held = Store(engine).stored_secret_fingerprint() \
            if inspect(engine).has_table("store_settings") else None
    finally:
        engine.dispose()
    if held is not None and held != secret_fingerprint(settings.participant_secret):
        raise SetupError("store.secret_mismatch", home=settings.data_dir)


def _sqlite_backup(source: Path, target: Path) -> None:
    write_private(target, b"")  # SQLite then writes into an owner-only file
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, \
            sqlite3.connect(target) as dst:
        src.backup(dst)
        (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
    if verdict != "ok":
        raise ValueError(f"the copy {target} fails SQLite's integrity check: {verdict}")


def _copy_secret(settings: Settings, folder: Path) -> Path | None:
    source = Path(settings.data_dir) / "participant.secret"
    if not source.is_file() or source.read_text().strip() != settings.participant_secret:
        return None
    target = folder / "participant.secret"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
    return target
