"""Broadcast replies (issue 11): statements.broadcast marks a reply also sent to the channel
(Slack's thread_broadcast), stored once and shown as such where replies are listed.

Revision ID: 0020_broadcast
Revises: 0019_moderation
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_broadcast"
down_revision = "0019_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of statements would trip the foreign keys to it on
    # SQLite (as 0010_scope's copy_throttled).
    op.add_column("statements", sa.Column("broadcast", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("broadcast")
