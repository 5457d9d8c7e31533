"""statements.attachments: the file names of a reply posted with files (issue 11)

Revision ID: 0009_threads
Revises: 0006_analysis_state
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_threads"
down_revision = "0006_analysis_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("attachments", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("attachments")
