"""desired profiles name their owner as text: a circuit's rows carry the circuit's id
(the session a circuit TxProfile limits is its own connector_id and transaction_id)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every circuit row on a station belonged to the circuit the station hangs from.
_CIRCUIT_UP = """
UPDATE desired_profiles SET owner_id =
  (SELECT s.circuit_id FROM stations s WHERE s.id = desired_profiles.station_id)
WHERE owner_kind = 'circuit'
"""

# Before, a circuit's TxProfile carried its transaction id as owner id, its cap none.
_CIRCUIT_DOWN = """
UPDATE desired_profiles SET owner_id =
  CASE WHEN connector_id > 0 THEN CAST(transaction_id AS VARCHAR(64)) ELSE NULL END
WHERE owner_kind = 'circuit'
"""


def upgrade() -> None:
    # SQLite copies the table: the copy stays AUTOINCREMENT (ids never reused).
    with op.batch_alter_table('desired_profiles', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('owner_id', existing_type=sa.Integer(),
                              type_=sa.String(length=64), existing_nullable=True,
                              postgresql_using='owner_id::varchar(64)')
    op.execute(_CIRCUIT_UP)


def downgrade() -> None:
    op.execute(_CIRCUIT_DOWN)
    with op.batch_alter_table('desired_profiles', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.alter_column('owner_id', existing_type=sa.String(length=64),
                              type_=sa.Integer(), existing_nullable=True,
                              postgresql_using='owner_id::integer')
