"""privacy: the audit log of privacy requests, erased participants' pseudonyms, and when a
round's texts were purged after the retention period (issue 10)

Revision ID: 0011_privacy
Revises: 0009_threads
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_privacy"
down_revision = "0009_threads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_table(
        "erased_participants",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_erased_participants")),
    )
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("purged_at")
    op.drop_table("erased_participants")
    op.drop_table("privacy_requests")
