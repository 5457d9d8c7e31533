"""inbox and inbox_partitions: every inbound event recorded raw before it is applied (issue 12)

Revision ID: 0013_inbox
Revises: 0022_moderator_erasure
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_inbox"
down_revision = "0022_moderator_erasure"
branch_labels = None
depends_on = None

PARTITIONS = 32
"""storage.models.INBOX_PARTITIONS when this revision was written (a migration is frozen)."""


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("delivery_key", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("platform", "delivery_key", name=op.f("uq_inbox_platform")),
    )
    op.create_index("ix_inbox_pending", "inbox", ["partition", "id"],
                    postgresql_where=sa.text("applied_at IS NULL"),
                    sqlite_where=sa.text("applied_at IS NULL"))
    op.create_index(op.f("ix_inbox_applied_at"), "inbox", ["applied_at"])
    partitions = op.create_table(
        "inbox_partitions",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_partitions")),
    )
    op.bulk_insert(partitions, [{"id": n} for n in range(PARTITIONS)])


def downgrade() -> None:
    op.drop_table("inbox_partitions")
    op.drop_index(op.f("ix_inbox_applied_at"), table_name="inbox")
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_table("inbox")
