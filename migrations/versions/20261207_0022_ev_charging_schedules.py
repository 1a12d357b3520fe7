"""ev charging schedules: what cars chose (NotifyEVChargingSchedule) and the answer

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'transaction_ev_schedules',
        sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column('transaction_id', sa.Integer(), nullable=False),
        sa.Column('evse_id', sa.Integer(), nullable=False),
        sa.Column('time_base', sa.DateTime(timezone=True), nullable=False),
        sa.Column('schedule', JSON, nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('period', sa.Integer(), nullable=True),
        sa.Column('exceeds_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('exceeds_by', sa.Float(), nullable=True),
        sa.Column('reason', sa.String(length=512), nullable=True),
        sa.Column('renegotiation', sa.String(length=512), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['transaction_id'], ['transactions.id'],
            name=op.f('fk_transaction_ev_schedules_transaction_id_transactions'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transaction_ev_schedules')),
    )
    op.create_index('ix_transaction_ev_schedules_transaction', 'transaction_ev_schedules',
                    ['transaction_id'])


def downgrade() -> None:
    op.drop_index('ix_transaction_ev_schedules_transaction',
                  table_name='transaction_ev_schedules')
    op.drop_table('transaction_ev_schedules')
