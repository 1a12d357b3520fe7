"""installed profiles remember the desired row that installed them

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (no batch copy).
    op.add_column('installed_profiles',
                  sa.Column('desired_profile_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('installed_profiles', 'desired_profile_id')
