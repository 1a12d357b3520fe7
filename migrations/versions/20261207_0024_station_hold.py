"""station hold: an operator's hold, answered BootNotification Pending until released

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Columns only: SQLite adds them in place. A copied stations table would cascade-delete
    # every row referencing a station when the old copy is dropped.
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for column in ('hold_reason', 'held_since'):
        # SQLite 3.35+ drops a column in place; batch mode would copy the table (see above).
        op.execute(f'ALTER TABLE stations DROP COLUMN {column}')
