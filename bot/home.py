"""planbot's home: one place for its state, whatever the working directory.

``PLANBOT_HOME`` (default ``$XDG_DATA_HOME/planbot``, i.e. ``~/.local/share/planbot``, per the
XDG Base Directory specification, https://specifications.freedesktop.org/basedir-spec/latest/)
holds the SQLite database and the participant secret, and may hold a ``.env``
(``bot.config.Settings.load``). The store
remembers a fingerprint of the participant secret; :func:`open_store` refuses a store written
with another secret, since every participant would silently become a new person.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import SetupError, database_failure
from bot.identity import secret_fingerprint
from storage.db import SchemaError, SqliteTooOld, create_store_engine, upgrade
from storage.store import Store


def open_store(database_url: str, participant_secret: str, home: Path, now: datetime) -> Store:
    """The store on ``database_url``, its schema upgraded to head, checked to belong to
    ``participant_secret`` (recorded on first use).

    Raises :class:`SetupError`: ``db.<kind>`` when the database cannot be used (each kind of
    failure told apart, see ``storage.db.failure_kind``), ``store.secret_mismatch`` when the
    store was written with another secret (``home`` is named in the message).
    """
    try:
        engine = create_store_engine(database_url)
    except (SQLAlchemyError, ImportError, OSError, SqliteTooOld) as err:
        raise database_failure(err) from err
    try:
        upgrade(engine)
        store = Store(engine)
        held = store.claim_secret_fingerprint(secret_fingerprint(participant_secret), now)
    except (SQLAlchemyError, SchemaError) as err:
        engine.dispose()
        raise database_failure(err) from err
    if held is not None:
        engine.dispose()
        raise SetupError("store.secret_mismatch", home=home)
    return store
