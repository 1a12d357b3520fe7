"""desired profiles name their owner (owner_kind, owner_id) instead of source, plan_id,
tariff_id; their ids are never reused on SQLite

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The TxProfile of a remote start was stored with source "command"; its pending remote
# start row names it, and becomes its owner.
_OWNER_UP = """
UPDATE desired_profiles SET
  owner_kind = CASE
    WHEN id IN (SELECT desired_profile_id FROM pending_remote_starts
                WHERE desired_profile_id IS NOT NULL) THEN 'remote_start'
    WHEN source = 'api' THEN 'manual'
    WHEN source IN ('scenario', 'command', 'plan', 'tariff') THEN source
    ELSE 'manual' END,
  owner_id = CASE
    WHEN id IN (SELECT desired_profile_id FROM pending_remote_starts
                WHERE desired_profile_id IS NOT NULL)
      THEN (SELECT MAX(p.id) FROM pending_remote_starts p
            WHERE p.desired_profile_id = desired_profiles.id)
    WHEN source = 'plan' THEN plan_id
    WHEN source = 'tariff' THEN tariff_id
    ELSE NULL END
"""

_OWNER_DOWN = """
UPDATE desired_profiles SET
  source = CASE owner_kind
    WHEN 'manual' THEN 'api'
    WHEN 'remote_start' THEN 'command'
    ELSE owner_kind END,
  plan_id = CASE WHEN owner_kind = 'plan' THEN owner_id ELSE NULL END,
  tariff_id = CASE WHEN owner_kind = 'tariff' THEN owner_id ELSE NULL END
"""


def upgrade() -> None:
    with op.batch_alter_table('desired_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
    op.execute(_OWNER_UP)
    # SQLite: the table is copied, and the copy is AUTOINCREMENT (ids never reused).
    with op.batch_alter_table('desired_profiles', schema=None, recreate='always'
                              if op.get_context().dialect.name == 'sqlite' else 'auto',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('owner_kind', existing_type=sa.String(length=20),
                              nullable=False)
        batch_op.drop_column('source')
        batch_op.drop_column('plan_id')
        batch_op.drop_column('tariff_id')
        batch_op.create_index('ix_desired_profiles_owner', ['owner_kind', 'owner_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('desired_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_desired_profiles_owner')
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tariff_id', sa.Integer(), nullable=True))
    op.execute(_OWNER_DOWN)
    with op.batch_alter_table('desired_profiles', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_column('owner_id')
        batch_op.drop_column('owner_kind')
