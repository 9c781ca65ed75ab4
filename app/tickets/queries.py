"""Thin typed reads. What each depends on is derived from its SQL (app/deps)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, or_, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import search
from app.deps.reads import Reads
from app.models import Comment, DeletedTicket, Ticket, TicketCount, TicketStatus, User
from app.tickets.filters import MAX_WINDOW, WINDOW_SIZE, Cursor, ListQuery


@dataclass(frozen=True, slots=True)
class TicketWindow:
    tickets: list[Ticket]
    next: Cursor | None  # where the following window starts; None at the end


async def list_tickets(session: AsyncSession, query: ListQuery) -> TicketWindow:
    """One window of a list, newest first, by keyset: no OFFSET, no count."""
    created_at, ticket_id = col(Ticket.created_at), col(Ticket.id)
    statement = select(Ticket).order_by(created_at.desc(), ticket_id.desc())
    if query.status is not None:
        statement = statement.where(col(Ticket.status) == query.status)
    limit = WINDOW_SIZE if query.until is None else MAX_WINDOW
    if query.words:
        statement = statement.where(_matching(session, query, limit + 1))
    if query.cursor is not None:
        statement = statement.where(_older_than(query.cursor))
    if query.until is not None:
        statement = statement.where(~_older_than(query.until))
    rows = list(await session.exec(statement.limit(limit + 1)))
    more = len(rows) > limit
    return TicketWindow(rows[:limit], Cursor.of(rows[limit - 1]) if more else None)


async def get_ticket(session: AsyncSession, ticket_id: str) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


async def people(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, User]:
    """The people named, by id, in one read: what shows their names depends on
    their rows alone (a rename moves only those)."""
    wanted = sorted({person_id for person_id in ids if person_id})
    if not wanted:
        return {}
    found = await session.exec(select(User).where(col(User.id).in_(wanted)))
    return {person.id: person for person in found}


def people_of(tickets: Iterable[Ticket]) -> list[str | None]:
    """The people a ticket shows: its author and its assignee."""
    return [person for ticket in tickets for person in (ticket.author_id, ticket.assignee_id)]


async def get_ticket_id_by_number(session: AsyncSession, number: int) -> str | None:
    found = await session.exec(select(Ticket.id).where(col(Ticket.number) == number))
    return found.first()


async def get_deleted_ticket(session: AsyncSession, ticket_id: str) -> DeletedTicket | None:
    """A deleted ticket still kept for an undo (app/tickets/undo.py)."""
    return await session.get(DeletedTicket, ticket_id)


async def count_by_status(session: AsyncSession) -> dict[TicketStatus, int]:
    """How many tickets have each status, every status present (0 if none)."""
    counts = dict.fromkeys(TicketStatus, 0)
    for row in await session.exec(select(TicketCount)):  # three rows, kept by triggers
        counts[TicketStatus(row.status)] = row.n
    return counts


def _older_than(cursor: Cursor) -> ColumnElement[bool]:
    """Rows after ``cursor`` in newest-first order; written so an index range serves it."""
    created_at = col(Ticket.created_at)
    return and_(
        created_at <= cursor.created_at,
        or_(created_at < cursor.created_at, col(Ticket.id) < cursor.id),
    )


def _matching(session: AsyncSession, query: ListQuery, limit: int) -> Reads:
    """Tickets holding every word as a prefix, through the database's full-text index.

    The words come from search.query_words: letters and digits only, quoted
    for FTS5, ``:*`` prefixes for tsquery, and bound as parameters. On
    SQLite the index yields this page's ids itself, newest first (its rowid
    is search.order_key), and stops there; PostgreSQL's planner walks the
    newest-first index and checks the tsvector, or reads the GIN index,
    whichever the words make cheaper. Both indexes are built from
    ``search_text``: the column this raw SQL declares it reads (``Reads``).
    """
    if session.get_bind().dialect.name != "sqlite":
        vector = "ticket.search_vector @@ to_tsquery('simple', :m)"
        return Reads(text(vector).bindparams(m=search.tsquery(query.words)), Ticket.search_text)
    params: dict[str, object] = {"m": search.fts5_match(query.words), "n": limit}
    where = ["ticket_search MATCH :m"]
    if query.status is not None:
        where.append("status = :s")
        params["s"] = query.status.value
    if query.cursor is not None:
        where.append("rowid < :after")
        params["after"] = search.order_key(query.cursor.created_at, query.cursor.id)
    if query.until is not None:
        where.append("rowid >= :until")
        params["until"] = search.order_key(query.until.created_at, query.until.id)
    page = f"SELECT ticket_id FROM ticket_search WHERE {' AND '.join(where)}"
    matching = text(f"ticket.id IN ({page} ORDER BY rowid DESC LIMIT :n)").bindparams(**params)
    return Reads(matching, Ticket.search_text)


# -- comments (issue 24) ----------------------------------------------------------


async def list_comments(session: AsyncSession, ticket_id: str, limit: int) -> list[Comment]:
    """A ticket's latest ``limit`` comments, oldest first: what it shows depends on
    that ticket's comments alone (their membership under ``ticket_id``, and the
    rows read, each a tag: hence the limit, under an entry's 128)."""
    found = await session.exec(
        select(Comment)
        .where(col(Comment.ticket_id) == ticket_id)
        .order_by(col(Comment.created_at).desc(), col(Comment.id).desc())
        .limit(limit)
    )
    return list(reversed(found.all()))


async def count_comments(session: AsyncSession, ticket_id: str) -> int:
    """How many comments a ticket has, read from their membership alone."""
    found = await session.exec(
        select(func.count()).select_from(Comment).where(col(Comment.ticket_id) == ticket_id)
    )
    return found.one()


async def get_comment(session: AsyncSession, comment_id: str) -> Comment | None:
    return await session.get(Comment, comment_id)
