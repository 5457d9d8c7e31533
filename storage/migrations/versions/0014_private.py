"""stances.via (reaction or private vote) and rounds.stance_mode (issue 14)

Revision ID: 0014_private
Revises: 0017_thread_state
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_private"
down_revision = "0017_thread_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stances") as batch:
        batch.add_column(sa.Column("via", sa.String(10), nullable=False,
                                   server_default="reaction"))
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("stance_mode", sa.String(10), nullable=False,
                                   server_default="both"))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("stance_mode")
    with op.batch_alter_table("stances") as batch:
        batch.drop_column("via")
