"""Erasure reaches the moderation audit (issue 14 review): moderation_decisions.moderator_key
becomes NULL for a facilitator erased at their request; the decision stays, linked to no one.

Revision ID: 0022_moderator_erasure
Revises: 0021_participant_ids
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_moderator_erasure"
down_revision = "0021_participant_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No table refers to moderation_decisions: SQLite's batch copy of it is safe.
    with op.batch_alter_table("moderation_decisions") as batch:
        batch.alter_column("moderator_key", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # A decision of an erased facilitator keeps an empty key: it must not name them again.
    op.execute("UPDATE moderation_decisions SET moderator_key = '' WHERE moderator_key IS NULL")
    with op.batch_alter_table("moderation_decisions") as batch:
        batch.alter_column("moderator_key", existing_type=sa.String(length=64), nullable=False)
