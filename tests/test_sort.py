"""Sorting: ?sort=created|updated|comments, each cached, paged by a cursor of its own.

Runs on memory + SQLite and on Redis + PostgreSQL (scripts/test runs both).
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert
from sqlmodel import col, select
from starlette.applications import Starlette

from app.models import Ticket, utcnow
from app.search import search_text
from app.tickets.filters import BAD_CURSOR, MAX_WINDOW, WINDOW_SIZE, Cursor
from app.tickets.sorts import Sort
from tests.helpers import HTMX, add_ticket

ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row')
NEXT = re.compile(r'<a rel="next" class="button" href="([^"]+)"')
FIRST_WINDOW = re.compile(r'id="list-page-first"[^>]* data-live-src="([^"]+)"')
COUNT = 130  # three pages


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def unescaped(url: str) -> str:
    return url.replace("&amp;", "&")


async def seed(app: Starlette) -> list[Ticket]:
    """``COUNT`` tickets with many ties: created a second apart, updated in
    bunches of ten at one moment, and 0 to 4 comments each."""
    now = utcnow()
    values = []
    for n in range(COUNT):
        title = f"Sorted {'printer' if n % 3 else 'scanner'} {n}"
        values.append(
            {
                "id": f"00000000-0000-4000-8000-{(n * 7919) % 1000:04d}{n:08d}",
                "title": title,
                "content": "Seeded.",
                "search_text": search_text(title, "Seeded."),
                "status": "OPEN",
                "created_at": now - timedelta(seconds=n),
                "updated_at": now - timedelta(minutes=(n * 37) % 13),
                "comment_count": n % 5,
                "version": 1,
            }
        )
    async with app.state.db.engine.begin() as connection:
        await connection.execute(insert(Ticket), values)
    async with app.state.db.session() as session:
        return list(await session.exec(select(Ticket)))


def expected(tickets: list[Ticket], sort: Sort) -> list[str]:
    def key(ticket: Ticket) -> tuple[object, ...]:
        cursor = Cursor.of(ticket, sort)
        return (cursor.comments, cursor.at, cursor.id)

    return [ticket.id for ticket in sorted(tickets, key=key, reverse=True)]


async def walk(client: httpx.AsyncClient, url: str) -> list[str]:
    """Every row of a list, page after page through rel="next"."""
    shown: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        page = await client.get(next_url)
        assert page.status_code == 200, page.text[:300]
        shown += rows(page.text)
        found = NEXT.search(page.text)
        next_url = unescaped(found.group(1)) if found else None
    return shown


@pytest.mark.parametrize("sort", list(Sort))
async def test_each_sort_pages_through_every_ticket_once_in_its_order(
    app: Starlette, client: httpx.AsyncClient, sort: Sort
) -> None:
    tickets = await seed(app)

    shown = await walk(client, f"/tickets?sort={sort.value}")
    searched = await walk(client, f"/tickets?sort={sort.value}&q=printer")

    assert shown == expected(tickets, sort)
    printers = [ticket for ticket in tickets if "printer" in ticket.title]
    assert searched == expected(printers, sort)  # the search index's path too (SQLite: FTS5)


async def test_a_sorted_list_is_cached_per_sort_and_moves_with_what_it_is_sorted_by(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    old, new = await add_ticket(app, title="Old"), await add_ticket(app, title="New")
    by_created = await client.get("/tickets")
    by_updated = await client.get("/tickets", params={"sort": "updated"})
    assert rows(by_created.text) == rows(by_updated.text) == [new.id, old.id]
    again = await client.get("/tickets", params={"sort": "updated", "utm": "x"})
    assert again.headers["x-cache"] == "HIT"

    await client.post(f"/tickets/{old.id}/update", data={"title": "Old, edited"})
    async with app.state.db.transaction() as session:  # as a comment's transaction does
        stored = await session.get(Ticket, new.id)
        assert stored is not None
        stored.comment_count = 2
        session.add(stored)

    updated = await client.get("/tickets", params={"sort": "updated"})
    commented = await client.get("/tickets", params={"sort": "comments"})
    assert updated.headers["x-cache"] == "MISS" and rows(updated.text) == [old.id, new.id]
    assert rows(commented.text) == [new.id, old.id]
    assert rows((await client.get("/tickets")).text) == [new.id, old.id]
    assert "selected>Recently updated</option>" in updated.text


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"sort": "oldest"}, id="unknown-sort"),
        pytest.param({"sort": "UPDATED"}, id="case-matters"),
        pytest.param({"sort": "x" * 5000}, id="5000-characters"),
    ],
)
async def test_an_unknown_sort_is_a_400_with_a_message(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    for url in ("/tickets", "/fragments/tickets"):
        answer = await client.get(url, params=params)
        assert answer.status_code == 400
        assert answer.text == "Unknown sort; use one of created, updated, comments."


async def test_a_cursor_of_another_sort_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    created = Cursor.of(ticket).encode()
    updated = Cursor.of(ticket, Sort.UPDATED).encode()
    commented = Cursor.of(ticket, Sort.COMMENTS).encode()

    for sort, cursor in (("updated", created), ("", updated), ("comments", updated)):
        answer = await client.get("/tickets", params={"sort": sort, "cursor": cursor})
        assert answer.status_code == 400 and answer.text == BAD_CURSOR
    served = await client.get("/tickets", params={"sort": "comments", "cursor": commented})
    assert served.status_code == 200
    for cursor in (created, updated, commented):
        assert Cursor.decode(cursor) in (
            Cursor.of(ticket),
            Cursor.of(ticket, Sort.UPDATED),
            Cursor.of(ticket, Sort.COMMENTS),
        )


@pytest.mark.parametrize("sort", [Sort.UPDATED, Sort.COMMENTS])
async def test_a_sorted_live_window_re_fetches_down_to_its_last_row_and_is_capped(
    app: Starlette, client: httpx.AsyncClient, sort: Sort
) -> None:
    await seed(app)
    page = await client.get("/tickets", params={"sort": sort.value, "assignee": "none"})
    window = FIRST_WINDOW.search(page.text)
    assert window is not None and "until=" in window.group(1)
    source = unescaped(window.group(1))
    shown = rows(page.text)
    assert len(shown) == WINDOW_SIZE
    # A ticket from further down moves to the top: it joins the window, nobody falls off.
    async with app.state.db.session() as session:
        found = await session.exec(select(Ticket).where(col(Ticket.id).not_in(shown)))
        mover = found.first()
    assert mover is not None
    async with app.state.db.transaction() as session:
        moved = await session.get(Ticket, mover.id)
        assert moved is not None
        moved.comment_count, moved.updated_at = 99, utcnow() + timedelta(days=1)
        session.add(moved)

    refetched = await client.get(source, headers=HTMX)
    assert rows(refetched.text) == [mover.id, *shown]
    for n in range(MAX_WINDOW):  # more than the cap, once the window's own rows are counted
        made = await add_ticket(app, title=f"new {n}")
        async with app.state.db.transaction() as session:
            stored = await session.get(Ticket, made.id)
            assert stored is not None
            stored.comment_count, stored.updated_at = 50, utcnow() + timedelta(days=2)
            session.add(stored)
    capped = await client.get(source, headers=HTMX)
    assert capped.status_code == 200 and len(rows(capped.text)) == MAX_WINDOW
    assert 'rel="next"' in capped.text
