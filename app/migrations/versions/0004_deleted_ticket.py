"""Deleted tickets kept for a while, so that a delete can be undone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deleted_ticket",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=191), nullable=False),
        sa.Column("content", sa.String(length=1024), nullable=False),
        sa.Column(
            "status",
            sa.Enum("OPEN", "IN_PROGRESS", "DONE", name="ticketstatus", create_type=False),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deleted_ticket_deleted_at", "deleted_ticket", ["deleted_at"])


def downgrade() -> None:
    op.drop_index("ix_deleted_ticket_deleted_at", table_name="deleted_ticket")
    op.drop_table("deleted_ticket")
