"""reservations, local list versions, pending remote starts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('local_list_versions',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('list_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_local_list_versions_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', name=op.f('pk_local_list_versions'))
    )
    op.create_table('pending_remote_starts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=True),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('profile', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer_status', sa.String(length=20), nullable=True),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('desired_profile_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_pending_remote_starts_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_remote_starts'))
    )
    with op.batch_alter_table('pending_remote_starts', schema=None) as batch_op:
        batch_op.create_index('ix_pending_remote_starts_lookup', ['station_id', 'id_tag'], unique=False)

    op.create_table('reservations',
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('reservation_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('id_tag', sa.String(length=20), nullable=False),
    sa.Column('parent_id_tag', sa.String(length=20), nullable=True),
    sa.Column('expiry_date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_reservations_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', 'reservation_id', name=op.f('pk_reservations'))
    )


def downgrade() -> None:
    op.drop_table('reservations')
    with op.batch_alter_table('pending_remote_starts', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_remote_starts_lookup')

    op.drop_table('pending_remote_starts')
    op.drop_table('local_list_versions')
