"""transaction reported: when its station first told of it since the station's latest boot

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A column only: SQLite adds it in place (a copied table would be rebuilt with every
    # index of the transactions table for nothing). Open transactions start unreported:
    # the next TransactionEvent of their station reports them.
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place; batch mode would copy the table.
    op.execute('ALTER TABLE transactions DROP COLUMN reported_at')
