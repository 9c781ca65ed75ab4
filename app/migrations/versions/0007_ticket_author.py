"""Who opened each ticket: its author, kept with the ticket and with a deleted one.

The author's name is copied onto the ticket when it is made, so that a row
renders from the ticket alone (one cache tag, no join on every list page).
Tickets made before accounts existed have no author: only an admin may delete them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ticket", "deleted_ticket")


def upgrade() -> None:
    # Plain ADD and DROP COLUMN, never batch mode: on SQLite a batch copies
    # ``ticket`` and loses its triggers (counts, search). So no foreign key
    # (SQLite cannot drop a column that has one); accounts are never deleted.
    for table in TABLES:
        op.add_column(table, sa.Column("author_id", sa.String(length=36), nullable=True))
        op.add_column(table, sa.Column("author_name", sa.String(length=80), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "author_name")
        op.drop_column(table, "author_id")
