"""session needs: requested needs per transaction, id tag and circuit defaults

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'transaction_needs',
        sa.Column('transaction_id', sa.Integer(), nullable=False),
        sa.Column('energy_kwh', sa.Float(), nullable=False),
        sa.Column('departure', sa.DateTime(timezone=True), nullable=False),
        sa.Column('target_soc', sa.Float(), nullable=True),
        sa.Column('soc', sa.Float(), nullable=True),
        sa.Column('battery_kwh', sa.Float(), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_transaction_needs_transaction_id_transactions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_transaction_needs')),
    )
    with op.batch_alter_table('id_tags') as batch:
        batch.add_column(sa.Column('default_needs', JSON, nullable=True))
    with op.batch_alter_table('circuits') as batch:
        batch.add_column(sa.Column('default_dwell_s', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('circuits') as batch:
        batch.drop_column('default_dwell_s')
    with op.batch_alter_table('id_tags') as batch:
        batch.drop_column('default_needs')
    op.drop_table('transaction_needs')
