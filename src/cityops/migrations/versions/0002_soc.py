"""SOC tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityops.kernel.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('soc_ingest_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('minute', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('parsed', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('dropped', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_ingest_counters')),
    sa.UniqueConstraint('source', 'minute', name=op.f('uq_soc_ingest_counters_source'))
    )
    op.create_index(op.f('ix_soc_ingest_counters_minute'), 'soc_ingest_counters', ['minute'], unique=False)
    op.create_table('soc_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('raw_size', sa.Integer(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_quarantine'))
    )
    op.create_index(op.f('ix_soc_quarantine_received_at'), 'soc_quarantine', ['received_at'], unique=False)
    op.create_index(op.f('ix_soc_quarantine_source'), 'soc_quarantine', ['source'], unique=False)
    op.create_table('soc_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=1000), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('service', sa.String(length=64), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('source_path', sa.String(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.Column('updated_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_rules')),
    sa.UniqueConstraint('rule_id', name=op.f('uq_soc_rules_rule_id'))
    )
    op.create_index(op.f('ix_soc_rules_enabled'), 'soc_rules', ['enabled'], unique=False)
    op.create_index(op.f('ix_soc_rules_level'), 'soc_rules', ['level'], unique=False)
    op.create_index(op.f('ix_soc_rules_origin'), 'soc_rules', ['origin'], unique=False)
    op.create_table('soc_assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('network', sa.String(length=64), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('criticality', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_soc_assets_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_assets')),
    sa.UniqueConstraint('hostname', name=op.f('uq_soc_assets_hostname'))
    )
    op.create_index(op.f('ix_soc_assets_agency_id'), 'soc_assets', ['agency_id'], unique=False)
    op.create_index(op.f('ix_soc_assets_network'), 'soc_assets', ['network'], unique=False)
    op.create_table('soc_rule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_pk', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('change', sa.String(length=200), nullable=False),
    sa.Column('changed_by', sa.String(length=120), nullable=False),
    sa.Column('changed_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rule_pk'], ['soc_rules.id'], name=op.f('fk_soc_rule_versions_rule_pk_soc_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_rule_versions')),
    sa.UniqueConstraint('rule_pk', 'version', name=op.f('uq_soc_rule_versions_rule_pk'))
    )
    op.create_index(op.f('ix_soc_rule_versions_rule_pk'), 'soc_rule_versions', ['rule_pk'], unique=False)
    op.create_table('soc_detections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('rule_title', sa.String(length=500), nullable=False),
    sa.Column('rule_author', sa.String(length=1000), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('soc_category', sa.String(length=16), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('window_start', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('first_seen', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('sample_event', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_soc_detections_agency_id_agencies')),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_soc_detections_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['asset_id'], ['soc_assets.id'], name=op.f('fk_soc_detections_asset_id_soc_assets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_detections')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_soc_detections_dedupe_key'))
    )
    op.create_index('ix_soc_detections_agency_seen', 'soc_detections', ['agency_id', 'last_seen'], unique=False)
    op.create_index(op.f('ix_soc_detections_alert_id'), 'soc_detections', ['alert_id'], unique=False)
    op.create_index('ix_soc_detections_category_seen', 'soc_detections', ['soc_category', 'last_seen'], unique=False)
    op.create_index(op.f('ix_soc_detections_first_seen'), 'soc_detections', ['first_seen'], unique=False)
    op.create_index('ix_soc_detections_host_seen', 'soc_detections', ['host', 'last_seen'], unique=False)
    op.create_index(op.f('ix_soc_detections_last_seen'), 'soc_detections', ['last_seen'], unique=False)
    op.create_index('ix_soc_detections_rule_seen', 'soc_detections', ['rule_id', 'last_seen'], unique=False)
    op.create_index('ix_soc_detections_severity_seen', 'soc_detections', ['severity', 'last_seen'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_soc_detections_severity_seen', table_name='soc_detections')
    op.drop_index('ix_soc_detections_rule_seen', table_name='soc_detections')
    op.drop_index(op.f('ix_soc_detections_last_seen'), table_name='soc_detections')
    op.drop_index('ix_soc_detections_host_seen', table_name='soc_detections')
    op.drop_index(op.f('ix_soc_detections_first_seen'), table_name='soc_detections')
    op.drop_index('ix_soc_detections_category_seen', table_name='soc_detections')
    op.drop_index(op.f('ix_soc_detections_alert_id'), table_name='soc_detections')
    op.drop_index('ix_soc_detections_agency_seen', table_name='soc_detections')
    op.drop_table('soc_detections')
    op.drop_index(op.f('ix_soc_rule_versions_rule_pk'), table_name='soc_rule_versions')
    op.drop_table('soc_rule_versions')
    op.drop_index(op.f('ix_soc_assets_network'), table_name='soc_assets')
    op.drop_index(op.f('ix_soc_assets_agency_id'), table_name='soc_assets')
    op.drop_table('soc_assets')
    op.drop_index(op.f('ix_soc_rules_origin'), table_name='soc_rules')
    op.drop_index(op.f('ix_soc_rules_level'), table_name='soc_rules')
    op.drop_index(op.f('ix_soc_rules_enabled'), table_name='soc_rules')
    op.drop_table('soc_rules')
    op.drop_index(op.f('ix_soc_quarantine_source'), table_name='soc_quarantine')
    op.drop_index(op.f('ix_soc_quarantine_received_at'), table_name='soc_quarantine')
    op.drop_table('soc_quarantine')
    op.drop_index(op.f('ix_soc_ingest_counters_minute'), table_name='soc_ingest_counters')
    op.drop_table('soc_ingest_counters')
