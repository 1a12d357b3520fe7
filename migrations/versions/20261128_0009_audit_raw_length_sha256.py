"""audit: length and SHA-256 of the raw text of an unusable frame

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw_length', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('raw_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('raw_sha256')
        batch_op.drop_column('raw_length')
