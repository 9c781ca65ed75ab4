"""The first account, chosen by the database: one row whose key only one sign-up can take.

Counting the accounts, then inserting, made two admins when two first
sign-ups raced. A database that has accounts already gives the seat to its
earliest admin (else its earliest account).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "first_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO first_account (id, user_id) SELECT 1, id FROM app_user"
        " ORDER BY is_admin DESC, created_at LIMIT 1"
    )


def downgrade() -> None:
    op.drop_table("first_account")
