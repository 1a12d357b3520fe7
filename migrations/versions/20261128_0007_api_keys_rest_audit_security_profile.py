"""API keys, the REST audit, station security profile and pending password

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name'))
    )
    op.create_table('rest_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('key_name', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('remote_address', sa.String(length=100), nullable=True),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rest_audit'))
    )
    with op.batch_alter_table('rest_audit', schema=None) as batch_op:
        batch_op.create_index('ix_rest_audit_key_ts', ['key_name', 'ts'], unique=False)
        batch_op.create_index('ix_rest_audit_ts', ['ts'], unique=False)

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_password_hash', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('security_profile', sa.Integer(), server_default='0', nullable=False))
    # A station with a password has been on profile 1 (HTTP Basic) all along.
    op.execute("UPDATE stations SET security_profile = 1 WHERE password_hash IS NOT NULL")


def downgrade() -> None:
    # Not batch mode: on SQLite that copies the table, and dropping the old stations table
    # would cascade to every row that references a station. SQLite >= 3.35 drops columns.
    op.execute("ALTER TABLE stations DROP COLUMN security_profile")
    op.execute("ALTER TABLE stations DROP COLUMN pending_password_hash")
    with op.batch_alter_table('rest_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_rest_audit_ts')
        batch_op.drop_index('ix_rest_audit_key_ts')
    op.drop_table('rest_audit')
    op.drop_table('api_keys')
