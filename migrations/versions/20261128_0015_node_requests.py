"""node_requests: calls and jobs one node asks of the node holding a station

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'node_requests',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('origin_node', sa.String(length=100), nullable=False),
        sa.Column('target_node', sa.String(length=100), nullable=False),
        sa.Column('station_id', sa.String(length=64), nullable=True),
        sa.Column('action', sa.String(length=50), nullable=True),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('desired_profile_id', sa.Integer(), nullable=True),
        sa.Column('timeout_s', sa.Float(), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('result', JSON, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_node_requests')),
    )
    op.create_index('ix_node_requests_target_state', 'node_requests',
                    ['target_node', 'state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_node_requests_target_state', table_name='node_requests')
    op.drop_table('node_requests')
