"""id tokens of up to 36 characters (an OCPP 2.0.1 idToken; a 1.6 idTag has 20)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable) of every column that holds an id token.
_COLUMNS = (
    ('id_tags', 'id_tag', False), ('id_tags', 'parent_id_tag', True),
    ('transactions', 'id_tag', False), ('transactions', 'stop_id_tag', True),
    ('reservations', 'id_tag', False), ('reservations', 'parent_id_tag', True),
    ('pending_remote_starts', 'id_tag', False),
)


def _resize(old: int, new: int) -> None:
    # SQLite ignores a VARCHAR's length (app/db/schema.py compare_type), and widening
    # there would copy the tables, which would cascade-delete every row that references
    # a transaction when the old copy is dropped: PostgreSQL only.
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table, column, nullable in _COLUMNS:
        op.alter_column(table, column, existing_type=sa.String(length=old),
                        type_=sa.String(length=new), existing_nullable=nullable,
                        postgresql_using=f'left({column}, {new})')


def upgrade() -> None:
    _resize(20, 36)


def downgrade() -> None:
    # A token longer than 20 characters is cut to its first 20 (a 1.6 idTag's length).
    _resize(36, 20)
