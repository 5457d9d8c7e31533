"""Moderation by facilitators (issue 14): rounds.moderation (open or strict),
statements.moderation (auto, pending, accepted, rejected) and the moderation_decisions audit.

Revision ID: 0019_moderation
Revises: 0010_scope
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_moderation"
down_revision = "0010_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("moderation", sa.String(10), nullable=False,
                                   server_default="open"))
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("moderation", sa.String(10), nullable=False,
                                   server_default="auto"))
    op.create_table(
        "moderation_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("moderator_key", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"],
                                name=op.f("fk_moderation_decisions_round_id_rounds")),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.id"],
                                name=op.f("fk_moderation_decisions_statement_id_statements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_decisions")),
        sa.UniqueConstraint("event_key", name=op.f("uq_moderation_decisions_event_key")),
    )
    op.create_index(op.f("ix_moderation_decisions_round_id"), "moderation_decisions",
                    ["round_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_moderation_decisions_round_id"), table_name="moderation_decisions")
    op.drop_table("moderation_decisions")
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("moderation")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("moderation")
