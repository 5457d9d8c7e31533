"""Rounds belong to where they were opened; invitations; the per-person copy limit (issue 10)

rounds.public_id (random, what people see and type), rounds.home_platform/home_workspace
(where the round was opened), round_invitations, statements.copy_throttled, and the indexes
that keep one reply's lookup, its copy and the copy limit independent of the round's size. At most one
open round per plan *and place*.

Existing rounds get a random public id and, as their place, the workspace of their first
channel; every other place they were already posted in is kept as a member through a used
invitation, so nothing that worked stops working. Imported rounds have no place.

Revision ID: 0010_scope
Revises: 0014_private
Create Date: 2026-12-02
"""
import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0010_scope"
down_revision = "0014_private"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
# The alphabet and length of storage.rounds.new_public_id, copied: a migration must not change
# when the code does.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def _public_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(10))


def upgrade() -> None:
    # No table is rebuilt (SQLite's batch mode would drop ``rounds``, which foreign keys
    # forbid once other rows point at it): columns are added, indexes made, nothing altered.
    op.add_column("rounds", sa.Column("public_id", sa.String(16), nullable=True))
    op.add_column("rounds", sa.Column("home_platform", sa.String(16), nullable=True))
    op.add_column("rounds", sa.Column("home_workspace", sa.String(64), nullable=True))
    op.create_table(
        "round_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_platform", sa.String(16), nullable=True),
        sa.Column("used_workspace", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"],
                                name=op.f("fk_round_invitations_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_round_invitations_code_hash")),
    )
    op.create_index(op.f("ix_round_invitations_round_id"), "round_invitations", ["round_id"])
    _give_rounds_a_place()
    op.create_index("uq_rounds_public_id", "rounds", ["public_id"], unique=True)
    op.drop_index("uq_rounds_open_plan", table_name="rounds", sqlite_where=OPEN,
                  postgresql_where=OPEN)
    op.create_index("uq_rounds_open_plan", "rounds",
                    ["plan_id", "home_platform", "home_workspace"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.add_column("statements", sa.Column("copy_throttled", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.create_index("ix_statements_round_kind_section", "statements",
                    ["round_id", "kind", "section_id"])
    op.create_index("ix_statements_author_created", "statements", ["author_id", "created_at"])
    op.create_index("ix_platform_messages_thread_message", "platform_messages",
                    ["thread_id", "message_id"])


def _give_rounds_a_place() -> None:
    conn = op.get_bind()
    now = sa.func.now()
    for (round_id,) in conn.execute(sa.text("SELECT id FROM rounds ORDER BY id")).all():
        places = conn.execute(sa.text(
            "SELECT platform, workspace_id FROM round_channels WHERE round_id = :r ORDER BY id"),
            {"r": round_id}).all()
        home = places[0] if places else (None, None)
        conn.execute(sa.text(
            "UPDATE rounds SET public_id = :p, home_platform = :hp, home_workspace = :hw "
            "WHERE id = :r"), {"p": _public_id(), "hp": home[0], "hw": home[1], "r": round_id})
        for platform, workspace in dict.fromkeys(tuple(p) for p in places[1:]):
            if (platform, workspace) == tuple(home):
                continue
            code_hash = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
            conn.execute(sa.insert(sa.table(
                "round_invitations", sa.column("round_id"), sa.column("code_hash"),
                sa.column("created_at"), sa.column("expires_at"), sa.column("used_at"),
                sa.column("used_platform"), sa.column("used_workspace"))).values(
                round_id=round_id, code_hash=code_hash, created_at=now, expires_at=now,
                used_at=now, used_platform=platform, used_workspace=workspace))


def downgrade() -> None:
    op.drop_index("ix_platform_messages_thread_message", table_name="platform_messages")
    op.drop_index("ix_statements_author_created", table_name="statements")
    op.drop_index("ix_statements_round_kind_section", table_name="statements")
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("copy_throttled")
    op.drop_index("uq_rounds_open_plan", table_name="rounds", sqlite_where=OPEN,
                  postgresql_where=OPEN)
    op.drop_index("uq_rounds_public_id", table_name="rounds")
    # Two places may each hold an open round of one plan now: keep the newest open.
    op.execute("UPDATE rounds SET status = 'closed' WHERE status = 'open' AND plan_id IS NOT NULL "
               "AND id < (SELECT MAX(r2.id) FROM rounds AS r2 WHERE r2.plan_id = rounds.plan_id "
               "AND r2.status = 'open')")
    with op.batch_alter_table("rounds") as batch:
        batch.create_index("uq_rounds_open_plan", ["plan_id"], unique=True,
                           sqlite_where=OPEN, postgresql_where=OPEN)
        batch.drop_column("home_workspace")
        batch.drop_column("home_platform")
        batch.drop_column("public_id")
    op.drop_index(op.f("ix_round_invitations_round_id"), table_name="round_invitations")
    op.drop_table("round_invitations")
