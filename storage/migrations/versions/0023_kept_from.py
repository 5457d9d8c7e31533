"""Retention counts from when planbot received a round's data: rounds.kept_from, set to the
import moment for a round imported from Polis (closed on its original dates, years ago
maybe); NULL for a round held in chat, whose retention counts from its closing.

Revision ID: 0023_kept_from
Revises: 0013_inbox
Create Date: 2026-12-02
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0023_kept_from"
down_revision = "0013_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("kept_from", sa.DateTime(timezone=True), nullable=True))
    # The store never recorded when an earlier import happened: the upgrade is the earliest
    # moment planbot can vouch it held the data, so an imported round not yet purged is kept
    # a full period from now rather than purged on its original dates at the next daily run.
    rounds = sa.table("rounds", sa.column("source", sa.String()),
                      sa.column("purged_at", sa.DateTime(timezone=True)),
                      sa.column("kept_from", sa.DateTime(timezone=True)))
    op.execute(rounds.update().where(rounds.c.source == "polis", rounds.c.purged_at.is_(None))
               .values(kept_from=datetime.now(UTC)))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("kept_from")
