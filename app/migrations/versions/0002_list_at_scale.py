"""The list at scale: keyset indexes and a full-text index over search_text.

SQLite: an FTS5 table (``unicode61 remove_diacritics 2``, prefix indexes
for 2 and 3 letters) kept in step with the ticket table by triggers. PostgreSQL: a generated
tsvector column ('simple' configuration: no stemming, every word as it is)
with a GIN index. Both index ``search_text``, the words that
app/search.py folds the same way for both databases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The FTS5 rowid is app.search.order_key(created_at, id) (the SQL function
# ticket_order_key, which app.db gives every connection): matches come out
# newest first, so a page of a search that matches most tickets is read
# without reading them all. Status rides along, for a filtered search.
KEY = "ticket_order_key({row}.created_at, {row}.id)"
SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE ticket_search USING fts5(
        search_text, ticket_id UNINDEXED, status UNINDEXED,
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket BEGIN
        INSERT INTO ticket_search(rowid, search_text, ticket_id, status)
        VALUES ({KEY.format(row="new")}, new.search_text, new.id, new.status);
    END""",
    f"""CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket BEGIN
        DELETE FROM ticket_search WHERE rowid = {KEY.format(row="old")};
    END""",
    f"""CREATE TRIGGER ticket_search_update
        AFTER UPDATE OF search_text, status, created_at, id ON ticket BEGIN
        DELETE FROM ticket_search WHERE rowid = {KEY.format(row="old")};
        INSERT INTO ticket_search(rowid, search_text, ticket_id, status)
        VALUES ({KEY.format(row="new")}, new.search_text, new.id, new.status);
    END""",
    f"""INSERT INTO ticket_search(rowid, search_text, ticket_id, status)
        SELECT {KEY.format(row="ticket")}, search_text, id, status FROM ticket""",
]

POSTGRES_SEARCH = [
    """ALTER TABLE ticket ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED""",
    "CREATE INDEX ix_ticket_search ON ticket USING gin (search_vector)",
]


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("search_text", sa.String(), nullable=False, server_default=""))
        batch.drop_index("ix_ticket_created_at")
        batch.create_index("ix_ticket_newest", ["created_at", "id"])
        batch.create_index("ix_ticket_status_newest", ["status", "created_at", "id"])
    _fill_search_text()
    for statement in SQLITE_SEARCH if _is_sqlite() else POSTGRES_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    if _is_sqlite():
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER ticket_search_{trigger}")
        op.execute("DROP TABLE ticket_search")
    else:
        op.execute("DROP INDEX ix_ticket_search")
        op.execute("ALTER TABLE ticket DROP COLUMN search_vector")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index("ix_ticket_status_newest")
        batch.drop_index("ix_ticket_newest")
        batch.create_index("ix_ticket_created_at", ["created_at"])
        batch.drop_column("search_text")


def _is_sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _fill_search_text() -> None:
    """Index the tickets that exist already (the app fills it on every write from now on)."""
    bind = op.get_bind()
    ticket = sa.table(
        "ticket",
        sa.column("id"),
        sa.column("title"),
        sa.column("content"),
        sa.column("search_text"),
    )
    rows = bind.execute(sa.select(ticket.c.id, ticket.c.title, ticket.c.content)).all()
    for ticket_id, title, content in rows:
        bind.execute(
            ticket.update()
            .where(ticket.c.id == ticket_id)
            .values(search_text=_search_text(title, content))
        )


# A migration is frozen in time: what it runs is copied here as it was on the
# day it was written, so that a later change to app/search.py cannot change
# what this revision does to an older database.
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall("".join(char for char in decomposed if not unicodedata.combining(char)))


def _search_text(title: str, content: str) -> str:
    """app.search.search_text as of this revision."""
    return " ".join(_words(title) + _words(content))
