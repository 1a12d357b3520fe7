"""circuit meter connector: a station connector whose MeterValues are the circuit's meter

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('circuits') as batch:
        batch.add_column(sa.Column('meter_station_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('meter_connector_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('circuits') as batch:
        batch.drop_column('meter_connector_id')
        batch.drop_column('meter_station_id')
