"""The invalidation outbox: a write's invalidations, in the write's transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invalidation_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queued", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_invalidation_outbox_created_at", "invalidation_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_invalidation_outbox_created_at", table_name="invalidation_outbox")
    op.drop_table("invalidation_outbox")
