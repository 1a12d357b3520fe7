"""circuits and the stations' place in them (load management)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'circuits',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('parent_id', sa.String(length=64), nullable=True),
        sa.Column('max_current_a', _json(), nullable=False),
        sa.Column('max_power_w', sa.Float(), nullable=True),
        sa.Column('max_imbalance_a', sa.Float(), nullable=True),
        sa.Column('margin_a', sa.Float(), nullable=False),
        sa.Column('connector_count', sa.Integer(), nullable=True),
        sa.Column('limits', _json(), nullable=False),
        sa.Column('worst_case_other_load_a', _json(), nullable=False),
        sa.Column('stale_after_s', sa.Integer(), nullable=False),
        sa.Column('measured_other_load_a', _json(), nullable=True),
        sa.Column('measured_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['circuits.id'],
                                name=op.f('fk_circuits_parent_id_circuits'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_circuits')),
    )
    with op.batch_alter_table('circuits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_circuits_parent_id'), ['parent_id'], unique=False)

    # Columns only: SQLite adds them in place. A copied stations table would cascade-delete
    # every row referencing a station when the old copy is dropped.
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('circuit_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('phase_rotation', sa.String(length=3), server_default='RST',
                                      nullable=False))
        batch_op.add_column(sa.Column('max_current_a', sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f('ix_stations_circuit_id'), ['circuit_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_stations_circuit_id'), table_name='stations')
    for column in ('max_current_a', 'phase_rotation', 'circuit_id'):
        # SQLite 3.35+ drops a column in place; batch mode would copy the table (see above).
        op.execute(f'ALTER TABLE stations DROP COLUMN {column}')

    with op.batch_alter_table('circuits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_circuits_parent_id'))

    op.drop_table('circuits')
