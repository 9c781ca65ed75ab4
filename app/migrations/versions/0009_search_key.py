"""The search index's rowid holds any date: a new key, and the index rebuilt.

Revision 0002 keyed SQLite's full-text index by microseconds since 1970
shifted by 12 bits of the id: past 2041-05-11 that overflows SQLite's signed
64 bits, and creating a ticket failed. The new key (the SQL function
``ticket_search_key``, app.search.order_key, which app.db gives every
connection) keeps 5 bits of the id, enough room for every microsecond of
years 1 to 9999. Its triggers replace 0002's, and every row is indexed again
under it. PostgreSQL's index has no such key: nothing to do there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KEY = "ticket_search_key"
OLD_KEY = "ticket_order_key"  # 0002's, registered by app.search for its triggers


def _triggers(key: str) -> list[str]:
    """0002's triggers and its filling of the index, with ``key`` as the rowid's function."""
    row = key + "({row}.created_at, {row}.id)"
    return [
        f"""CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket BEGIN
            INSERT INTO ticket_search(rowid, search_text, ticket_id, status)
            VALUES ({row.format(row="new")}, new.search_text, new.id, new.status);
        END""",
        f"""CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket BEGIN
            DELETE FROM ticket_search WHERE rowid = {row.format(row="old")};
        END""",
        f"""CREATE TRIGGER ticket_search_update
            AFTER UPDATE OF search_text, status, created_at, id ON ticket BEGIN
            DELETE FROM ticket_search WHERE rowid = {row.format(row="old")};
            INSERT INTO ticket_search(rowid, search_text, ticket_id, status)
            VALUES ({row.format(row="new")}, new.search_text, new.id, new.status);
        END""",
        "DELETE FROM ticket_search",
        f"""INSERT INTO ticket_search(rowid, search_text, ticket_id, status)
            SELECT {row.format(row="ticket")}, search_text, id, status FROM ticket""",
    ]


def _rekey(key: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER ticket_search_{trigger}")
    for statement in _triggers(key):
        op.execute(statement)


def upgrade() -> None:
    _rekey(NEW_KEY)


def downgrade() -> None:
    _rekey(OLD_KEY)  # fails on a ticket made after 2041-05-11: 0002's key cannot hold it
