"""participant ids are never reused: ``participants.id`` becomes AUTOINCREMENT on SQLite
(issue 10: an erased participant's id, freed by the erasure, went to the next new person,
and a process still holding the old id recorded the erased person's stances on them).

Without AUTOINCREMENT SQLite gives a new row the largest id in use plus one, so the id of
the newest participant comes back once they are erased; with it, ids only grow
(https://sqlite.org/autoinc.html). PostgreSQL sequences never hand an id out twice: nothing
to do there.

Revision ID: 0021_participant_ids
Revises: 0020_broadcast
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_participant_ids"
down_revision = "0020_broadcast"
branch_labels = None
depends_on = None

COLUMNS = "id, key_hash, platform, external_id, display_name, first_seen_at"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.create_table(
        "_participants_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_participants"),
        sa.UniqueConstraint("key_hash", name="uq_participants_key_hash"),
        sqlite_autoincrement=True,
    )
    # The table stances and statements refer to is replaced while foreign keys are on (a
    # pragma that cannot change inside a transaction): the savepoint makes sure there is
    # one, the deferred check lets the old rows go before the same rows come back into the
    # new table, which clears the check again (https://sqlite.org/foreignkeys.html, 4.2).
    # Dropping the old table before the rename keeps the other tables' references naming
    # ``participants`` (https://sqlite.org/lang_altertable.html#alter_table_rename).
    for sql in (
        "SAVEPOINT participant_ids",
        "PRAGMA defer_foreign_keys = ON",
        "CREATE TEMP TABLE _participants_rows AS SELECT * FROM participants",
        "DROP TABLE participants",
        "ALTER TABLE _participants_new RENAME TO participants",
        f"INSERT INTO participants ({COLUMNS}) SELECT {COLUMNS} FROM temp._participants_rows",
        "DROP TABLE temp._participants_rows",
        "RELEASE participant_ids",
    ):
        bind.exec_driver_sql(sql)


def downgrade() -> None:
    """Nothing to undo: ids that only grow are what every earlier revision expects too."""
