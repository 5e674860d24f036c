"""drop the users' index on connection alone

The unique index on (connection, email_key) starts with the connection and answers every
lookup by connection alone; the second index only cost each new user one more B-tree write.

Revision ID: c7d1e0a5b913
Revises: 3a49a39d4041
Create Date: 2026-12-01 05:45:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'c7d1e0a5b913'
down_revision: str | None = '3a49a39d4041'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_connection'))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_connection'), ['connection'], unique=False)
