"""Thin typed reads. What each depends on is derived from its SQL (app/deps)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, or_, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app import search
from app.deps.reads import Reads
from app.models import Comment, DeletedTicket, Ticket, TicketCount, TicketStatus, User
from app.tickets.filters import MAX_WINDOW, NOBODY, WINDOW_SIZE, Cursor, ListQuery
from app.tickets.sorts import Sort

# Window statements kept built (``_window_statement``): the lists people read
# most (each status, sort and assignee's first window), and recent cursors.
STATEMENTS_KEPT = 256


@dataclass(frozen=True, slots=True)
class TicketWindow:
    tickets: list[Ticket]
    next: Cursor | None  # where the following window starts; None at the end


async def list_tickets(session: AsyncSession, query: ListQuery) -> TicketWindow:
    """One window of a list in its sort, by keyset: no OFFSET, no count."""
    limit = _window_size(query)
    statement = _window_statement(replace(query, words=()) if query.words else query)
    if query.words:
        statement = statement.where(_matching(session, query, limit + 1))
    rows = list(await session.exec(statement))
    more = len(rows) > limit
    return TicketWindow(rows[:limit], Cursor.of(rows[limit - 1], query.sort) if more else None)


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _window_statement(query: ListQuery) -> SelectOfScalar[Ticket]:
    """The SELECT of a window of ``query`` (its words aside), built once while
    it is asked: building one took longer than running it from SQLAlchemy's
    compiled cache, and a list's first window is asked again after every write."""
    keys = _sort_keys(query.sort)
    statement = select(Ticket).order_by(*(key.desc() for key in keys))
    if query.status is not None:
        statement = statement.where(col(Ticket.status) == query.status)
    if query.assignee == NOBODY:
        statement = statement.where(col(Ticket.assignee_id).is_(None))
    elif query.assignee is not None:
        statement = statement.where(col(Ticket.assignee_id) == query.assignee)
    if query.cursor is not None:
        statement = statement.where(_after(keys, query.cursor))
    if query.until is not None:
        statement = statement.where(~_after(keys, query.until))
    return statement.limit(_window_size(query) + 1)  # one more: whether a next window exists


def _window_size(query: ListQuery) -> int:
    """Rows a window shows: a page's, or up to its last row's (``until``)."""
    return WINDOW_SIZE if query.until is None else MAX_WINDOW


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


@dataclass(frozen=True, slots=True)
class Name:
    """A person's name as a list shows it: plain values, so that a row's render
    depends on its ticket alone (its fragment's key holds the names instead)."""

    id: str
    name: str


# A list read of more people than this depends on every name at once (a few
# tags), not on each person's row: a window of 100 rows, each with its own
# author and assignee, would otherwise hold 300 tags, past the cache's 128.
PINNED_PEOPLE_MAX = 12


async def names(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, Name]:
    """The names of the people named, by id, in one read: it depends on their
    rows when they are few (a rename moves only lists that show that person),
    else on the names column and the table's membership (any rename moves it)."""
    wanted = sorted({person_id for person_id in ids if person_id})
    if not wanted:
        return {}
    statement = select(col(User.id), col(User.name))
    if len(wanted) <= PINNED_PEOPLE_MAX:
        statement = statement.where(col(User.id).in_(wanted))
    else:  # a range, which no key pins: read as the columns it selects
        statement = statement.where(col(User.id) >= wanted[0], col(User.id) <= wanted[-1])
    found = await session.exec(statement)
    chosen = set(wanted)
    return {person_id: Name(person_id, name) for person_id, name in found if person_id in chosen}


def people_of(tickets: Iterable[Ticket]) -> list[str | None]:
    """The people a ticket shows: its author and its assignee."""
    return [person for ticket in tickets for person in (ticket.author_id, ticket.assignee_id)]


async def person(session: AsyncSession, person_id: str) -> User | None:
    """One person, by id (a list filtered by them shows their name)."""
    return await session.get(User, person_id)


async def members(session: AsyncSession) -> list[User]:
    """Everyone a ticket can be assigned to, by name: the assignee picker's
    (its own fragment, so that a sign-up moves it and no ticket's page)."""
    return list(await session.exec(select(User).order_by(col(User.name), col(User.id))))


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


def _sort_keys(sort: Sort) -> list[Any]:  # columns, as col() types them
    """The columns a sort orders by, most significant first (an index each:
    ix_ticket_newest, ix_ticket_updated, ix_ticket_comments)."""
    if sort is Sort.UPDATED:
        return [col(Ticket.updated_at), col(Ticket.id)]
    if sort is Sort.COMMENTS:
        return [col(Ticket.comment_count), col(Ticket.created_at), col(Ticket.id)]
    return [col(Ticket.created_at), col(Ticket.id)]


def _after(keys: list[Any], cursor: Cursor) -> ColumnElement[bool]:
    """Rows after ``cursor`` in the descending order of ``keys``; written so an
    index range serves it: ``k1 <= v1 AND (k1 < v1 OR (rest after))``."""
    values: list[object] = [cursor.at, cursor.id]
    if len(keys) == 3:
        values.insert(0, cursor.comments)
    return _descending_after(keys, values)


def _descending_after(keys: list[Any], values: list[object]) -> ColumnElement[bool]:
    first, value = keys[0], values[0]
    if len(keys) == 1:
        last: ColumnElement[bool] = first < value
        return last
    return and_(first <= value, or_(first < value, _descending_after(keys[1:], values[1:])))


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
    params: dict[str, object] = {"m": search.fts5_match(query.words)}
    where = ["ticket_search MATCH :m"]
    if query.status is not None:
        where.append("status = :s")
        params["s"] = query.status.value
    if query.sort is not Sort.CREATED or query.assignee is not None:
        # The index's order is created order, not this sort's, and it holds
        # no assignee: it yields every match, and the outer query filters,
        # orders and pages them through the ticket table's own indexes (a
        # search that matches most tickets reads them all; typed words
        # rarely do).
        page = f"SELECT ticket_id FROM ticket_search WHERE {' AND '.join(where)}"
        return Reads(text(f"ticket.id IN ({page})").bindparams(**params), Ticket.search_text)
    if query.cursor is not None:
        where.append("rowid < :after")
        params["after"] = search.order_key(query.cursor.at, query.cursor.id)
    if query.until is not None:
        where.append("rowid >= :until")
        params["until"] = search.order_key(query.until.at, query.until.id)
    params["n"] = limit
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
