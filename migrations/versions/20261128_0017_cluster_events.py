"""cluster_events: events too large for a NOTIFY payload, read by the other nodes

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'cluster_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('node_id', sa.String(length=100), nullable=False),
        sa.Column('event', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_events')),
    )
    op.create_index('ix_cluster_events_created_at', 'cluster_events', ['created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_cluster_events_created_at', table_name='cluster_events')
    op.drop_table('cluster_events')
