"""Teams: assignees, comments, a history of changes, versions; names read, not copied.

- ``ticket.assignee_id`` (and on deleted tickets, so an undo keeps it), with
  the index its filter reads newest first.
- ``ticket.version``: moved by each change of a field people edit, what an
  edit form was made from; ``ticket.comment_count``, kept by comments.
- ``comment`` and ``ticket_change`` (the history), each listed by ticket.
- ``author_name`` is dropped: a row reads its author's name from the
  person's row (0007 copied it, so a rename showed nowhere).

Plain ADD and DROP COLUMN, never batch mode (it would copy ``ticket`` and
lose its triggers): see 0007. No foreign keys, for the same reason, and so
that a deleted ticket's comments and history stay for its undo.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ticket", "deleted_ticket")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("assignee_id", sa.String(length=36), nullable=True))
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        op.add_column(
            table, sa.Column("comment_count", sa.Integer(), nullable=False, server_default="0")
        )
        op.drop_column(table, "author_name")
    op.create_index("ix_ticket_assignee_newest", "ticket", ["assignee_id", "created_at", "id"])
    op.create_index("ix_ticket_updated", "ticket", ["updated_at", "id"])
    op.create_index("ix_ticket_comments", "ticket", ["comment_count", "created_at", "id"])
    op.create_table(
        "comment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comment_ticket", "comment", ["ticket_id", "created_at", "id"])
    op.create_table(
        "ticket_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_change_ticket", "ticket_change", ["ticket_id", "id"])


def downgrade() -> None:
    op.drop_table("ticket_change")
    op.drop_table("comment")
    op.drop_index("ix_ticket_comments", table_name="ticket")
    op.drop_index("ix_ticket_updated", table_name="ticket")
    op.drop_index("ix_ticket_assignee_newest", table_name="ticket")
    for table in TABLES:
        op.add_column(table, sa.Column("author_name", sa.String(length=80), nullable=True))
        op.execute(
            f"UPDATE {table} SET author_name ="
            f" (SELECT name FROM app_user WHERE app_user.id = {table}.author_id)"
        )
        op.drop_column(table, "comment_count")
        op.drop_column(table, "version")
        op.drop_column(table, "assignee_id")
