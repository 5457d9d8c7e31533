"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_participants_key_hash'))
    )
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('slug', name=op.f('uq_plans_slug'))
    )
    op.create_table('processed_events',
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_key', name=op.f('pk_processed_events'))
    )
    op.create_table('plan_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('titles', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_versions_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_versions')),
    sa.UniqueConstraint('plan_id', 'number', name=op.f('uq_plan_versions_plan_id'))
    )
    op.create_table('sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_sections_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sections')),
    sa.UniqueConstraint('plan_id', 'key', name=op.f('uq_sections_plan_id'))
    )
    op.create_table('rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_version_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id'], name=op.f('fk_rounds_plan_version_id_plan_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rounds'))
    )
    op.create_table('section_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_version_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('titles', sa.JSON(), nullable=False),
    sa.Column('bodies', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id'], name=op.f('fk_section_versions_plan_version_id_plan_versions')),
    sa.ForeignKeyConstraint(['section_id'], ['sections.id'], name=op.f('fk_section_versions_section_id_sections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_section_versions')),
    sa.UniqueConstraint('plan_version_id', 'section_id', name=op.f('uq_section_versions_plan_version_id'))
    )
    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('content', sa.JSON(), nullable=True),
    sa.Column('outputs', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_digests_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('round_id', 'kind', 'period_end', name=op.f('uq_digests_round_id'))
    )
    op.create_table('round_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('workspace_id', sa.String(length=64), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_channels_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_channels')),
    sa.UniqueConstraint('round_id', 'platform', 'workspace_id', 'channel_id', name=op.f('uq_round_channels_round_id'))
    )
    op.create_table('statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_withheld', sa.Boolean(), nullable=False),
    sa.Column('moderated', sa.Boolean(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['participants.id'], name=op.f('fk_statements_author_id_participants')),
    sa.ForeignKeyConstraint(['parent_id'], ['statements.id'], name=op.f('fk_statements_parent_id_statements')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_statements_round_id_rounds')),
    sa.ForeignKeyConstraint(['section_id'], ['sections.id'], name=op.f('fk_statements_section_id_sections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements'))
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statements_round_id'), ['round_id'], unique=False)

    op.create_table('platform_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('workspace_id', sa.String(length=64), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('thread_id', sa.String(length=64), nullable=True),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], name=op.f('fk_platform_messages_digest_id_digests')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_platform_messages_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_messages')),
    sa.UniqueConstraint('platform', 'channel_id', 'message_id', name=op.f('uq_platform_messages_platform'))
    )
    with op.batch_alter_table('platform_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platform_messages_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_platform_messages_thread_id'), ['thread_id'], unique=False)

    op.create_table('stances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('emoji_key', sa.String(length=100), nullable=False),
    sa.Column('emoji_raw', sa.String(length=200), nullable=False),
    sa.Column('stance', sa.String(length=10), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_stances_participant_id_participants')),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_stances_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stances')),
    sa.UniqueConstraint('participant_id', 'statement_id', 'emoji_key', name=op.f('uq_stances_participant_id'))
    )
    with op.batch_alter_table('stances', schema=None) as batch_op:
        batch_op.create_index('ix_stances_statement_current', ['statement_id', 'is_current'], unique=False)
        batch_op.create_index('uq_stances_current', ['participant_id', 'statement_id'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))

    op.create_table('statement_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('previous_text', sa.Text(), nullable=True),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], name=op.f('fk_statement_edits_statement_id_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_edits'))
    )
    with op.batch_alter_table('statement_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_edits_statement_id'), ['statement_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statement_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_edits_statement_id'))

    op.drop_table('statement_edits')
    with op.batch_alter_table('stances', schema=None) as batch_op:
        batch_op.drop_index('uq_stances_current', sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
        batch_op.drop_index('ix_stances_statement_current')

    op.drop_table('stances')
    with op.batch_alter_table('platform_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platform_messages_thread_id'))
        batch_op.drop_index(batch_op.f('ix_platform_messages_statement_id'))

    op.drop_table('platform_messages')
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statements_round_id'))

    op.drop_table('statements')
    op.drop_table('round_channels')
    op.drop_table('digests')
    op.drop_table('section_versions')
    op.drop_table('rounds')
    op.drop_table('sections')
    op.drop_table('plan_versions')
    op.drop_table('processed_events')
    op.drop_table('plans')
    op.drop_table('participants')
