"""field reports tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityops.kernel.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fr_bans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('until', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_bans')),
    sa.UniqueConstraint('kind', 'value', name=op.f('uq_fr_bans_kind'))
    )
    op.create_table('fr_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_vi', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('group', sa.String(length=60), nullable=False),
    sa.Column('keywords', sa.String(length=300), nullable=False),
    sa.Column('notice_vi', sa.Text(), nullable=False),
    sa.Column('notice_en', sa.Text(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('sla_working_days', sa.Integer(), nullable=False),
    sa.Column('duplicate_radius_m', sa.Integer(), nullable=False),
    sa.Column('is_private', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_fr_categories_code'))
    )
    op.create_table('fr_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('contact_email', sa.String(length=200), nullable=False),
    sa.Column('show_name', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('client_addr', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('lead_agency_id', sa.Integer(), nullable=True),
    sa.Column('due_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('verified_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('assigned_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('closed_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('result_text', sa.Text(), nullable=False),
    sa.Column('result_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('result_approved', sa.Boolean(), nullable=False),
    sa.Column('result_approved_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('citizen_notified_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=False),
    sa.Column('rated_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('name_hidden', sa.Boolean(), nullable=False),
    sa.Column('sla_alert', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_fr_reports_area_id_areas')),
    sa.ForeignKeyConstraint(['category_id'], ['fr_categories.id'], name=op.f('fk_fr_reports_category_id_fr_categories')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['fr_reports.id'], name=op.f('fk_fr_reports_duplicate_of_id_fr_reports')),
    sa.ForeignKeyConstraint(['lead_agency_id'], ['agencies.id'], name=op.f('fk_fr_reports_lead_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_reports')),
    sa.UniqueConstraint('code', name=op.f('uq_fr_reports_code'))
    )
    op.create_index(op.f('ix_fr_reports_area_id'), 'fr_reports', ['area_id'], unique=False)
    op.create_index(op.f('ix_fr_reports_category_id'), 'fr_reports', ['category_id'], unique=False)
    op.create_index(op.f('ix_fr_reports_created_at'), 'fr_reports', ['created_at'], unique=False)
    op.create_index(op.f('ix_fr_reports_due_at'), 'fr_reports', ['due_at'], unique=False)
    op.create_index(op.f('ix_fr_reports_lead_agency_id'), 'fr_reports', ['lead_agency_id'], unique=False)
    op.create_index(op.f('ix_fr_reports_state'), 'fr_reports', ['state'], unique=False)
    op.create_table('fr_response_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text_vi', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['fr_categories.id'], name=op.f('fk_fr_response_templates_category_id_fr_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_response_templates'))
    )
    op.create_index(op.f('ix_fr_response_templates_state'), 'fr_response_templates', ['state'], unique=False)
    op.create_table('fr_routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('lead_agency_id', sa.Integer(), nullable=True),
    sa.Column('lead_is_commune', sa.Boolean(), nullable=False),
    sa.Column('supporting_commune', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_fr_routing_rules_area_id_areas')),
    sa.ForeignKeyConstraint(['category_id'], ['fr_categories.id'], name=op.f('fk_fr_routing_rules_category_id_fr_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_agency_id'], ['agencies.id'], name=op.f('fk_fr_routing_rules_lead_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_routing_rules'))
    )
    op.create_index(op.f('ix_fr_routing_rules_category_id'), 'fr_routing_rules', ['category_id'], unique=False)
    op.create_table('fr_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('thumbnail_name', sa.String(length=100), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('redacted', sa.Boolean(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['fr_reports.id'], name=op.f('fk_fr_media_report_id_fr_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_media')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_fr_media_stored_name'))
    )
    op.create_index(op.f('ix_fr_media_report_id'), 'fr_media', ['report_id'], unique=False)
    op.create_table('fr_report_supporters',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_fr_report_supporters_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['fr_reports.id'], name=op.f('fk_fr_report_supporters_report_id_fr_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'agency_id', name=op.f('pk_fr_report_supporters'))
    )
    op.create_table('fr_rule_supporters',
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_fr_rule_supporters_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['fr_routing_rules.id'], name=op.f('fk_fr_rule_supporters_rule_id_fr_routing_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'agency_id', name=op.f('pk_fr_rule_supporters'))
    )
    op.create_table('fr_timeline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['fr_reports.id'], name=op.f('fk_fr_timeline_report_id_fr_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_timeline'))
    )
    op.create_index(op.f('ix_fr_timeline_at'), 'fr_timeline', ['at'], unique=False)
    op.create_index(op.f('ix_fr_timeline_report_id'), 'fr_timeline', ['report_id'], unique=False)
    op.create_table('fr_moderation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['media_id'], ['fr_media.id'], name=op.f('fk_fr_moderation_media_id_fr_media'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['fr_reports.id'], name=op.f('fk_fr_moderation_report_id_fr_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_moderation'))
    )
    op.create_index(op.f('ix_fr_moderation_report_id'), 'fr_moderation', ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_fr_moderation_report_id'), table_name='fr_moderation')
    op.drop_table('fr_moderation')
    op.drop_index(op.f('ix_fr_timeline_report_id'), table_name='fr_timeline')
    op.drop_index(op.f('ix_fr_timeline_at'), table_name='fr_timeline')
    op.drop_table('fr_timeline')
    op.drop_table('fr_rule_supporters')
    op.drop_table('fr_report_supporters')
    op.drop_index(op.f('ix_fr_media_report_id'), table_name='fr_media')
    op.drop_table('fr_media')
    op.drop_index(op.f('ix_fr_routing_rules_category_id'), table_name='fr_routing_rules')
    op.drop_table('fr_routing_rules')
    op.drop_index(op.f('ix_fr_response_templates_state'), table_name='fr_response_templates')
    op.drop_table('fr_response_templates')
    op.drop_index(op.f('ix_fr_reports_state'), table_name='fr_reports')
    op.drop_index(op.f('ix_fr_reports_lead_agency_id'), table_name='fr_reports')
    op.drop_index(op.f('ix_fr_reports_due_at'), table_name='fr_reports')
    op.drop_index(op.f('ix_fr_reports_created_at'), table_name='fr_reports')
    op.drop_index(op.f('ix_fr_reports_category_id'), table_name='fr_reports')
    op.drop_index(op.f('ix_fr_reports_area_id'), table_name='fr_reports')
    op.drop_table('fr_reports')
    op.drop_table('fr_categories')
    op.drop_table('fr_bans')
