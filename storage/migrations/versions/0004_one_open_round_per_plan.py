"""rounds.plan_id and at most one open round per plan

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_rounds_plan_id_plans"), "plans",
                                    ["plan_id"], ["id"])
    op.execute("UPDATE rounds SET plan_id = (SELECT plan_id FROM plan_versions "
               "WHERE plan_versions.id = rounds.plan_version_id)")
    # Older databases may hold two open rounds of one plan: keep the newest open.
    op.execute("UPDATE rounds SET status = 'closed' WHERE status = 'open' AND plan_id IS NOT NULL "
               "AND id < (SELECT MAX(r2.id) FROM rounds AS r2 WHERE r2.plan_id = rounds.plan_id "
               "AND r2.status = 'open')")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index("uq_rounds_open_plan", ["plan_id"], unique=True,
                              sqlite_where=sa.text("status = 'open'"),
                              postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index("uq_rounds_open_plan", sqlite_where=sa.text("status = 'open'"),
                            postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_constraint(batch_op.f("fk_rounds_plan_id_plans"), type_="foreignkey")
        batch_op.drop_column("plan_id")
