"""``INSERT ... ON CONFLICT DO NOTHING`` that SQLAlchemy compiles once, not on every run.

SQLAlchemy's SQLite and PostgreSQL ``Insert`` constructs set ``inherit_cache = False`` and
their ``OnConflictDoNothing`` sets no cache key, so a statement built from them has no cache
key and is compiled again at every execution (SQLAlchemy 2.0, "Object will not produce a cache
key": https://docs.sqlalchemy.org/en/20/errors.html#caching-caveats). On the event path that
compile was about a fifth of the database thread's time (py-spy on ``bench/bench_slack.py``).
A ``DO NOTHING`` without a conflict target compiles to the same text whatever the statement
holds, so its cache key may be its class alone; the ``Insert`` subclasses then take their
cache key from the standard traversal, which covers the ``ON CONFLICT`` clause.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import dml as postgresql_dml
from sqlalchemy.dialects.sqlite import dml as sqlite_dml
from sqlalchemy.sql.dml import Insert

_NOTHING_VARIES: list[Any] = []
"""The traversal of a ``DO NOTHING`` without a target: nothing in it varies."""


class _PostgresqlInsert(postgresql_dml.Insert):
    inherit_cache = True


class _PostgresqlDoNothing(postgresql_dml.OnConflictDoNothing):
    inherit_cache = True
    _traverse_internals = _NOTHING_VARIES


class _SqliteInsert(sqlite_dml.Insert):
    inherit_cache = True


class _SqliteDoNothing(sqlite_dml.OnConflictDoNothing):
    inherit_cache = True
    _traverse_internals = _NOTHING_VARIES


def insert_ignore(table: Table, dialect: str) -> Insert:
    """``INSERT INTO table ... ON CONFLICT DO NOTHING`` for ``dialect`` (``postgresql`` or
    ``sqlite``): a row that would break any unique key is skipped, and a ``RETURNING`` lists
    only the rows inserted."""
    stmt: Insert
    if dialect == "postgresql":
        stmt = _PostgresqlInsert(table)
        stmt._post_values_clause = _PostgresqlDoNothing()
    else:
        stmt = _SqliteInsert(table)
        stmt._post_values_clause = _SqliteDoNothing()
    return stmt
