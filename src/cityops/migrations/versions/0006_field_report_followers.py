"""Field reports: e-mail followers of public reports

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cityops.kernel.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fr_followers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('client_addr', sa.String(length=64), nullable=False),
    sa.Column('requested_at', cityops.kernel.db.UTCDateTime(), nullable=False),
    sa.Column('confirmed_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unsubscribed_at', cityops.kernel.db.UTCDateTime(), nullable=True),
    sa.Column('unsubscribe_token', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['fr_reports.id'],
                            name=op.f('fk_fr_followers_report_id_fr_reports'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fr_followers')),
    sa.UniqueConstraint('report_id', 'email', name=op.f('uq_fr_followers_report_id'))
    )
    op.create_index(op.f('ix_fr_followers_client_addr'), 'fr_followers', ['client_addr'],
                    unique=False)
    op.create_index(op.f('ix_fr_followers_report_id'), 'fr_followers', ['report_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_fr_followers_report_id'), table_name='fr_followers')
    op.drop_index(op.f('ix_fr_followers_client_addr'), table_name='fr_followers')
    op.drop_table('fr_followers')
