"""read-back repairs: a station's repairs since a read-back last found it clean

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place on both databases: batch mode would copy the stations table on SQLite,
    # and dropping the old copy cascades to every row that references a station.
    op.add_column('stations', sa.Column('read_back_repairs', sa.Integer(), nullable=False,
                                        server_default='0'))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place.
    op.execute('ALTER TABLE stations DROP COLUMN read_back_repairs')
