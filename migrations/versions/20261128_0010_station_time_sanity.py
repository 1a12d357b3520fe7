"""station clock offset; flags on station timestamps not to take at their word

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_offset_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('clock_offset_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_time_flag', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('stop_time_flag', sa.String(length=12), nullable=True))
    with op.batch_alter_table('meter_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ts_flag', sa.String(length=12), nullable=True))


def downgrade() -> None:
    # Dropped in place, not by a batch copy: copying stations would cascade to the rows
    # that reference it (as migration 0007 does).
    op.drop_column('meter_values', 'ts_flag')
    op.drop_column('transactions', 'stop_time_flag')
    op.drop_column('transactions', 'start_time_flag')
    op.drop_column('stations', 'clock_offset_at')
    op.drop_column('stations', 'clock_offset_s')
