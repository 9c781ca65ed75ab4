"""Short ticket numbers (#123): a column on tickets (and on deleted ones, so an
undo gives a ticket its number back), existing tickets numbered oldest first,
and the counter that numbers new ones.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ticket", "deleted_ticket")


def upgrade() -> None:
    # Plain ADD COLUMN, never batch mode (it would copy ``ticket`` and lose its
    # triggers): see 0007.
    for table in TABLES:
        op.add_column(table, sa.Column("number", sa.Integer(), nullable=True))
    # UPDATE ... FROM: SQLite 3.33 and later, and PostgreSQL.
    op.execute(
        "UPDATE ticket SET number = numbered.n FROM ("
        " SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM ticket"
        ") AS numbered WHERE numbered.id = ticket.id"
    )
    op.create_index("ix_ticket_number", "ticket", ["number"], unique=True)
    op.create_table(
        "ticket_number",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO ticket_number (id, last) SELECT 1, coalesce(max(number), 0) FROM ticket"
    )


def downgrade() -> None:
    op.drop_table("ticket_number")
    op.drop_index("ix_ticket_number", table_name="ticket")
    for table in TABLES:
        op.drop_column(table, "number")
