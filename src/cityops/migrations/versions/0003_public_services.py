"""public services tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityops.kernel.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ps_connectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('auth_kind', sa.String(length=16), nullable=False),
    sa.Column('auth_username', sa.String(length=200), nullable=False),
    sa.Column('auth_header', sa.String(length=100), nullable=False),
    sa.Column('auth_secret', sa.String(length=500), nullable=False),
    sa.Column('items_path', sa.String(length=200), nullable=False),
    sa.Column('page_param', sa.String(length=50), nullable=False),
    sa.Column('page_size', sa.Integer(), nullable=False),
    sa.Column('max_pages', sa.Integer(), nullable=False),
    sa.Column('field_mapping', sa.JSON(), nullable=False),
    sa.Column('every_minutes', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_run_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('last_success_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("auth_kind IN ('none', 'bearer', 'basic', 'header')", name=op.f('ck_ps_connectors_auth_kind')),
    sa.CheckConstraint('every_minutes >= 1', name=op.f('ck_ps_connectors_every_minutes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_connectors')),
    sa.UniqueConstraint('name', name=op.f('uq_ps_connectors_name'))
    )
    op.create_table('ps_procedures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('statutory_amount', sa.Float(), nullable=False),
    sa.Column('statutory_unit', sa.String(length=8), nullable=False),
    sa.Column('online_level', sa.String(length=16), nullable=False),
    sa.Column('fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("level IN ('province', 'commune')", name=op.f('ck_ps_procedures_level')),
    sa.CheckConstraint("online_level IN ('partial', 'full')", name=op.f('ck_ps_procedures_online_level')),
    sa.CheckConstraint("statutory_unit IN ('days', 'hours')", name=op.f('ck_ps_procedures_statutory_unit')),
    sa.CheckConstraint('statutory_amount > 0', name=op.f('ck_ps_procedures_statutory_amount')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_procedures')),
    sa.UniqueConstraint('code', name=op.f('uq_ps_procedures_code'))
    )
    op.create_table('ps_settings',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_ps_settings'))
    )
    op.create_table('ps_dossiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('receiving_agency_id', sa.Integer(), nullable=False),
    sa.Column('processing_agency_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Integer(), nullable=False),
    sa.Column('applicant_type', sa.String(length=16), nullable=False),
    sa.Column('received_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('received_month', sa.Integer(), nullable=False),
    sa.Column('appointment_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('state_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('payment_online', sa.Boolean(), nullable=False),
    sa.Column('digitised', sa.Boolean(), nullable=False),
    sa.Column('e_result', sa.Boolean(), nullable=False),
    sa.Column('has_feedback', sa.Boolean(), nullable=False),
    sa.Column('has_complaint', sa.Boolean(), nullable=False),
    sa.Column('supplement_requests', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('due_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('end_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.Column('late_seconds', sa.Integer(), nullable=False),
    sa.Column('computed_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('channel IN (1, 2, 3)', name=op.f('ck_ps_dossiers_channel')),
    sa.CheckConstraint('state BETWEEN 1 AND 10', name=op.f('ck_ps_dossiers_state')),
    sa.CheckConstraint('supplement_requests >= 0', name=op.f('ck_ps_dossiers_supplement_requests')),
    sa.ForeignKeyConstraint(['procedure_id'], ['ps_procedures.id'], name=op.f('fk_ps_dossiers_procedure_id_ps_procedures')),
    sa.ForeignKeyConstraint(['processing_agency_id'], ['agencies.id'], name=op.f('fk_ps_dossiers_processing_agency_id_agencies')),
    sa.ForeignKeyConstraint(['receiving_agency_id'], ['agencies.id'], name=op.f('fk_ps_dossiers_receiving_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_dossiers')),
    sa.UniqueConstraint('code', name=op.f('uq_ps_dossiers_code'))
    )
    op.create_index('ix_ps_dossiers_agency_month_outcome', 'ps_dossiers', ['processing_agency_id', 'received_month', 'outcome'], unique=False)
    op.create_index('ix_ps_dossiers_month_outcome', 'ps_dossiers', ['received_month', 'outcome'], unique=False)
    op.create_index('ix_ps_dossiers_outcome_due', 'ps_dossiers', ['outcome', 'due_at'], unique=False)
    op.create_index(op.f('ix_ps_dossiers_procedure_id'), 'ps_dossiers', ['procedure_id'], unique=False)
    op.create_index(op.f('ix_ps_dossiers_receiving_agency_id'), 'ps_dossiers', ['receiving_agency_id'], unique=False)
    op.create_table('ps_sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('started_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['ps_connectors.id'], name=op.f('fk_ps_sync_runs_connector_id_ps_connectors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_sync_runs'))
    )
    op.create_index(op.f('ix_ps_sync_runs_connector_id'), 'ps_sync_runs', ['connector_id'], unique=False)
    op.create_table('ps_apology_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('new_appointment_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['ps_dossiers.id'], name=op.f('fk_ps_apology_letters_dossier_id_ps_dossiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_apology_letters')),
    sa.UniqueConstraint('dossier_id', 'issued_at', name='uq_ps_apology_letters_dossier_issued_at')
    )
    op.create_table('ps_intake_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('received_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('pending_rows', sa.JSON(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ps_intake_batches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_intake_batches'))
    )
    op.create_index('ix_ps_intake_batches_received_at', 'ps_intake_batches', ['received_at'], unique=False)
    op.create_table('ps_state_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.CheckConstraint('state BETWEEN 1 AND 10', name=op.f('ck_ps_state_changes_state')),
    sa.ForeignKeyConstraint(['dossier_id'], ['ps_dossiers.id'], name=op.f('fk_ps_state_changes_dossier_id_ps_dossiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_state_changes')),
    sa.UniqueConstraint('dossier_id', 'state', 'at', name='uq_ps_state_changes_dossier_state_at')
    )
    op.create_table('ps_supplement_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('completed_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['ps_dossiers.id'], name=op.f('fk_ps_supplement_requests_dossier_id_ps_dossiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ps_supplement_requests')),
    sa.UniqueConstraint('dossier_id', 'requested_at', name='uq_ps_supplement_requests_dossier_requested_at')
    )


def downgrade() -> None:
    op.drop_table('ps_supplement_requests')
    op.drop_table('ps_state_changes')
    op.drop_index('ix_ps_intake_batches_received_at', table_name='ps_intake_batches')
    op.drop_table('ps_intake_batches')
    op.drop_table('ps_apology_letters')
    op.drop_index(op.f('ix_ps_sync_runs_connector_id'), table_name='ps_sync_runs')
    op.drop_table('ps_sync_runs')
    op.drop_index(op.f('ix_ps_dossiers_receiving_agency_id'), table_name='ps_dossiers')
    op.drop_index(op.f('ix_ps_dossiers_procedure_id'), table_name='ps_dossiers')
    op.drop_index('ix_ps_dossiers_outcome_due', table_name='ps_dossiers')
    op.drop_index('ix_ps_dossiers_month_outcome', table_name='ps_dossiers')
    op.drop_index('ix_ps_dossiers_agency_month_outcome', table_name='ps_dossiers')
    op.drop_table('ps_dossiers')
    op.drop_table('ps_settings')
    op.drop_table('ps_procedures')
    op.drop_table('ps_connectors')
