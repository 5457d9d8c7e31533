"""analysis_states: the state each round's analysis update starts from; a covering index for
the reads of a round's current stances (issue 13)

Revision ID: 0006_analysis_state
Revises: 0008_home
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_analysis_state"
down_revision = "0008_home"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_states",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"],
                                name=op.f("fk_analysis_states_round_id_rounds")),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_analysis_states")),
    )
    with op.batch_alter_table("stances", schema=None) as batch_op:
        batch_op.drop_index("ix_stances_statement_current")
        batch_op.create_index("ix_stances_current_cover",
                              ["statement_id", "is_current", "stance", "participant_id",
                               "platform", "added_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stances", schema=None) as batch_op:
        batch_op.drop_index("ix_stances_current_cover")
        batch_op.create_index("ix_stances_statement_current", ["statement_id", "is_current"],
                              unique=False)
    op.drop_table("analysis_states")
