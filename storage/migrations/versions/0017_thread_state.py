"""Threads and sections on the real platforms (issue 11): each section thread's state
(open, archived, locked) on platform_messages.thread_state, and the sections whose post
failed for good in a channel (section_failures).

Revision ID: 0017_thread_state
Revises: 0012_versions
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_thread_state"
down_revision = "0012_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platform_messages") as batch:
        batch.add_column(sa.Column("thread_state", sa.String(length=10), nullable=True))
    op.create_table(
        "section_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.id"],
                                name=op.f("fk_section_failures_statement_id_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_section_failures")),
        sa.UniqueConstraint("statement_id", "platform", "channel_id",
                            name=op.f("uq_section_failures_statement_id")),
    )


def downgrade() -> None:
    op.drop_table("section_failures")
    with op.batch_alter_table("platform_messages") as batch:
        batch.drop_column("thread_state")
