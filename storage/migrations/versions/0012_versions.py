"""Reply versions: each stance records the text version it was given to (issue 10); and the
pickled APScheduler job table is dropped (jobs are rebuilt from the store at start-up).

``statements.version`` counts the text's versions (1 as posted, one more per edit),
``statement_edits.version`` is the version of the text an edit replaced, and
``stances.version`` the version a reaction was given to. Existing rows: a statement's version
is one more than its edits, each edit numbered in order, and every existing stance is taken
as given to the current text (what the tally assumed until now).

Revision ID: 0012_versions
Revises: 0009_threads
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_versions"
down_revision = "0011_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("statement_edits") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=True))
    with op.batch_alter_table("stances") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE statements SET version = 1 + (SELECT count(*) FROM statement_edits e "
               "WHERE e.statement_id = statements.id)")
    op.execute("UPDATE statement_edits SET version = (SELECT count(*) FROM statement_edits e "
               "WHERE e.statement_id = statement_edits.statement_id "
               "AND e.id <= statement_edits.id)")
    op.execute("UPDATE stances SET version = (SELECT s.version FROM statements s "
               "WHERE s.id = stances.statement_id)")
    op.execute("DROP TABLE IF EXISTS apscheduler_jobs")


def downgrade() -> None:
    with op.batch_alter_table("stances") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("statement_edits") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("version")
