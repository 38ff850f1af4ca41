"""SOC: receiver queue depth in the ingest counters; stored custom correlation rules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityops.kernel.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server_default fills the rows written before the upgrade (no receiver queue known then).
    with op.batch_alter_table('soc_ingest_counters') as batch_op:
        batch_op.add_column(sa.Column('queue_depth_max', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('queue_size', sa.Integer(), server_default='0',
                                      nullable=False))
    op.create_table('soc_correlation_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.Column('updated_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_soc_correlation_rules')),
    sa.UniqueConstraint('rule_id', name=op.f('uq_soc_correlation_rules_rule_id'))
    )


def downgrade() -> None:
    op.drop_table('soc_correlation_rules')
    with op.batch_alter_table('soc_ingest_counters') as batch_op:
        batch_op.drop_column('queue_size')
        batch_op.drop_column('queue_depth_max')
