"""audit_log: drop ix_audit_log_desired_profile, which no query uses

Every audit row paid for it on insert; the audit API filters by station, action,
direction, message type and time, and orders by id, never by desired profile.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_desired_profile')


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_desired_profile', ['desired_profile_id'],
                              unique=False)
