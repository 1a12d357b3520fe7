"""stations: composite convention, unconstrained value, managed flag

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both databases (no batch copy of stations).
    op.add_column('stations', sa.Column('composite_convention', sa.String(length=20),
                                        nullable=True))
    op.add_column('stations', sa.Column('unconstrained_limit', sa.Float(), nullable=True))
    op.add_column('stations', sa.Column('unconstrained_unit', sa.String(length=1),
                                        nullable=True))
    op.add_column('stations', sa.Column('managed', sa.Boolean(), nullable=False,
                                        server_default=sa.true()))


def downgrade() -> None:
    # Not a batch copy on SQLite: dropping the stations table to copy it would cascade
    # to every row that references a station. SQLite drops a column itself since 3.35.
    for column in ('managed', 'unconstrained_unit', 'unconstrained_limit',
                   'composite_convention'):
        op.drop_column('stations', column)
