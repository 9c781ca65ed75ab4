"""What each query the app runs depends on, and which writes move it.

For every query shape of the app, a write that must move it does, and a write
that must not does not: too coarse a dependency re-renders a list on every
write, too fine a one leaves a page stale (the oracle, tests/test_fresh.py,
checks the second against renders with the cache off).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.dialects import sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.applications import Starlette

from app.accounts import sessions
from app.cache import Cache
from app.deps.hooks import WriteOutsideTransaction
from app.deps.reads import Reads, UntrackedRead
from app.deps.writes import UnknownMove
from app.models import InvalidationOutbox, Ticket, TicketStatus, User, utcnow
from app.tickets import queries
from app.tickets.filters import Cursor, ListQuery
from tests.helpers import add_ticket

Read = Callable[[AsyncSession], Awaitable[object]]
Write = Callable[[AsyncSession], Awaitable[object]]
_keys = itertools.count()


async def depends_on(app: Starlette, read: Read) -> frozenset[str]:
    """What ``read`` depends on, run inside a render as a view runs it."""
    cache: Cache = app.state.cache

    async def render() -> str:
        async with app.state.db.session() as session:
            await read(session)
        return ""

    served = await cache.serve(f"read {next(_keys)}", render)
    assert served.entry is not None
    return served.entry.tags


async def moved_by(app: Starlette, write: Write) -> frozenset[str]:
    """What ``write`` moved, as every process hears it after COMMIT."""
    heard: list[frozenset[str]] = []
    app.state.cache.on_invalidate(heard.append)
    async with app.state.db.transaction() as session:
        await write(session)
    return frozenset().union(*heard)


async def set_field(app: Starlette, ticket: Ticket, **values: Any) -> frozenset[str]:
    async def write(session: AsyncSession) -> None:
        found = await session.get(Ticket, ticket.id)
        assert found is not None
        for name, value in values.items():
            setattr(found, name, value)

    return await moved_by(app, write)


async def create(app: Starlette, status: TicketStatus = TicketStatus.OPEN) -> frozenset[str]:
    async def write(session: AsyncSession) -> None:
        session.add(Ticket(title="New", content="Made now", status=status))

    return await moved_by(app, write)


def window(query: ListQuery) -> Read:
    async def read(session: AsyncSession) -> object:
        return await queries.list_tickets(session, query)

    return read


# -- lists ------------------------------------------------------------------


async def test_the_unfiltered_list_moves_with_what_it_holds(app: Starlette) -> None:
    shown = await add_ticket(app, title="Shown")
    deps = await depends_on(app, window(ListQuery()))

    assert deps & await create(app, TicketStatus.DONE)  # a new ticket joins it
    assert deps & await set_field(app, shown, title="Edited")  # its row changed


async def test_a_status_list_moves_only_with_that_status(app: Starlette) -> None:
    done = await add_ticket(app, status=TicketStatus.DONE)
    deps = await depends_on(app, window(ListQuery(status=TicketStatus.OPEN)))

    assert not deps & await create(app, TicketStatus.DONE)
    assert not deps & await set_field(app, done, status=TicketStatus.IN_PROGRESS)
    assert not deps & await set_field(app, done, title="Not an open ticket")
    assert deps & await set_field(app, done, status=TicketStatus.OPEN)  # it joins
    assert deps & await create(app, TicketStatus.OPEN)


async def test_a_search_moves_with_words_and_membership_not_with_statuses(
    app: Starlette,
) -> None:
    elsewhere = await add_ticket(app, title="Printer on fire")
    deps = await depends_on(app, window(ListQuery.parse({"q": "coffee"})))

    assert not deps & await set_field(app, elsewhere, status=TicketStatus.DONE)
    assert deps & await set_field(app, elsewhere, title="Coffee machine on fire")
    assert deps & await create(app)


async def test_the_unassigned_list_moves_only_when_a_ticket_joins_or_leaves_nobody(
    app: Starlette,
) -> None:
    ada, bob = await person(app, "Ada"), await person(app, "Bob")
    assigned = await add_ticket(app, title="On Ada's desk")
    await set_field(app, assigned, assignee_id=ada)
    unassigned = await add_ticket(app, title="Nobody's")
    deps = await depends_on(app, window(ListQuery.parse({"assignee": "none"})))

    assert not deps & await set_field(app, assigned, assignee_id=bob)  # between people
    assert deps & await set_field(app, unassigned, title="Nobody's, edited")  # its row
    assert deps & await set_field(app, unassigned, assignee_id=ada)  # it leaves
    assert deps & await set_field(app, assigned, assignee_id=None)  # it joins
    assert deps & await create(app)  # a new ticket is nobody's


async def person(app: Starlette, name: str) -> str:
    async with app.state.db.transaction() as session:
        user = User(name=name, email=f"{name.lower()}@example.com", password_hash="x")
        session.add(user)
    return user.id


async def test_a_later_window_moves_with_the_order_it_is_cut_by(app: Starlette) -> None:
    older = await add_ticket(app, title="Older")
    newer = await add_ticket(app, title="Newer")
    query = ListQuery(cursor=Cursor.of(newer))
    deps = await depends_on(app, window(query))

    assert deps & await set_field(app, older, created_at=utcnow() + timedelta(days=1))
    assert deps & await create(app)  # coarse: a new ticket moves which rows exist


# -- one ticket, the counts, a session -------------------------------------


async def test_a_ticket_read_by_id_moves_with_that_ticket_only(app: Starlette) -> None:
    ticket, other = await add_ticket(app), await add_ticket(app)

    async def read(session: AsyncSession) -> object:
        return await queries.get_ticket(session, ticket.id)

    deps = await depends_on(app, read)

    assert deps == {f"ticket:{ticket.id}"}
    assert not deps & await set_field(app, other, title="Another")
    assert deps & await set_field(app, ticket, content="Changed")


async def test_a_ticket_not_found_moves_when_it_comes_back(app: Starlette) -> None:
    async def read(session: AsyncSession) -> object:
        return await queries.get_ticket(session, "no-such-ticket")

    deps = await depends_on(app, read)

    async def comes(session: AsyncSession) -> None:
        session.add(Ticket(id="no-such-ticket", title="Back", content="Restored"))

    assert deps & await moved_by(app, comes)


async def test_the_counts_move_with_statuses_not_with_words(app: Starlette) -> None:
    ticket = await add_ticket(app)
    deps = await depends_on(app, queries.count_by_status)

    assert not deps & await set_field(app, ticket, title="Renamed")
    assert deps & await set_field(app, ticket, status=TicketStatus.DONE)  # by a trigger
    assert deps & await create(app)


async def test_a_session_moves_when_it_ends_or_its_person_changes(app: Starlette) -> None:
    tokens: dict[str, str] = {}
    people: dict[str, User] = {}

    def start(name: str) -> Write:
        async def write(session: AsyncSession) -> None:
            people[name] = User(name=name, email=f"{name}@example.com", password_hash="-")
            session.add(people[name])
            tokens[name] = await sessions.start(session, people[name])

        return write

    def end(name: str) -> Write:
        async def write(session: AsyncSession) -> None:
            await sessions.end(session, tokens[name])

        return write

    await moved_by(app, start("ada"))
    await moved_by(app, start("bob"))

    async def read(session: AsyncSession) -> object:
        return await sessions.person_of(session, sessions.digest(tokens["ada"]))

    deps = await depends_on(app, read)

    assert sessions.dependency(sessions.digest(tokens["ada"])) in deps
    assert f"app_user:{people['ada'].id}" in deps  # joined by its key: that row only
    assert not deps & await moved_by(app, end("bob"))
    assert not deps & await moved_by(app, start("cy"))  # a new person is no other's

    async def rename(session: AsyncSession) -> None:
        found = await session.get(User, people["ada"].id)
        assert found is not None
        found.name = "Ada L."

    assert deps & await moved_by(app, rename)
    assert deps & await moved_by(app, end("ada"))  # a bulk DELETE, read back


# -- what cannot be derived is refused, never guessed -----------------------


async def test_raw_sql_that_declares_nothing_depends_on_the_whole_table(app: Starlette) -> None:
    async def read(session: AsyncSession) -> object:
        return (await session.exec(select(Ticket).where(text("title <> ''")))).all()

    assert "ticket" in await depends_on(app, read)


async def test_a_render_may_not_read_a_table_no_render_reads(app: Starlette) -> None:
    async def read(session: AsyncSession) -> object:
        return (await session.exec(select(InvalidationOutbox))).all()

    with pytest.raises(UntrackedRead, match="invalidation_outbox"):
        await depends_on(app, read)


async def test_a_bulk_write_must_say_what_it_changed(app: Starlette) -> None:
    ticket = await add_ticket(app)

    async def returns_too_little(session: AsyncSession) -> None:
        await session.exec(delete(Ticket).where(col(Ticket.id) == ticket.id).returning(Ticket.id))

    async def updates_counted_statuses(session: AsyncSession) -> None:
        await session.exec(update(Ticket).values(status=TicketStatus.DONE))

    with pytest.raises(UnknownMove, match="status"):
        await moved_by(app, returns_too_little)
    with pytest.raises(UnknownMove, match="triggers"):
        await moved_by(app, updates_counted_statuses)


async def test_a_write_outside_a_transaction_is_refused(app: Starlette) -> None:
    with pytest.raises(WriteOutsideTransaction):
        async with app.state.db.session() as session:
            session.add(Ticket(title="Nowhere", content="No commit to queue in"))
            await session.flush()


def test_declared_raw_sql_is_sent_as_written(app: Starlette) -> None:
    """``Reads`` changes what a read depends on, never the SQL: on a database
    without a boolean type, a Boolean-typed clause would be compared with 1,
    and the full-text index would not serve the search any more."""
    raw = text("ticket.id IN (SELECT 1)")
    statement = select(Ticket.id).where(Reads(raw, Ticket.search_text))
    sql = str(statement.compile(dialect=sqlite.dialect()))
    assert sql.endswith("WHERE ticket.id IN (SELECT 1)")
