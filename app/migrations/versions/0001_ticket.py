"""The ticket table, as app/models.py defines it.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A native ENUM type on PostgreSQL, VARCHAR(11) on SQLite: what SQLModel makes.
STATUS = sa.Enum("OPEN", "IN_PROGRESS", "DONE", name="ticketstatus")


def upgrade() -> None:
    op.create_table(
        "ticket",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=191), nullable=False),
        sa.Column("content", sa.String(length=1024), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_created_at", "ticket", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_created_at", table_name="ticket")
    op.drop_table("ticket")
    STATUS.drop(op.get_bind(), checkfirst=True)
