"""What each invalidation re-renders, and what it must leave cached."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.applications import Starlette

from app.tickets import queries
from app.tickets.filters import ListQuery
from app.tickets.queries import TicketWindow
from tests.helpers import add_ticket


async def warm(client: httpx.AsyncClient, *paths: str) -> None:
    for path in paths:
        await client.get(path)
        assert (await client.get(path)).headers["x-cache"] == "HIT", path


async def statuses(client: httpx.AsyncClient, *paths: str) -> dict[str, str]:
    return {path: (await client.get(path)).headers["x-cache"] for path in paths}


async def test_ticket_writes_leave_a_fragment_with_another_tag_cached(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await warm(client, "/tickets", "/fragments/counts", "/fragments/status-legend")

    await client.post(f"/tickets/{ticket.id}/delete")

    assert await statuses(client, "/tickets", "/fragments/counts", "/fragments/status-legend") == {
        "/tickets": "MISS",
        "/fragments/counts": "MISS",
        "/fragments/status-legend": "HIT",
    }


async def test_fragment_invalidation_reaches_every_page_that_holds_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await warm(client, "/", "/tickets", f"/tickets/{ticket.id}")

    # The ticket's row: its fragment in the list, and its page; not the home page.
    await app.state.cache.revalidate_tag(f"ticket:{ticket.id}")

    assert await statuses(client, "/", "/tickets", f"/tickets/{ticket.id}") == {
        "/": "HIT",
        "/tickets": "MISS",
        f"/tickets/{ticket.id}": "MISS",
    }


async def test_revalidate_path_of_one_page(app: Starlette, client: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app)
    pages = ("/", "/tickets", f"/tickets/{ticket.id}")
    await warm(client, *pages)

    await app.state.cache.revalidate_path("/tickets")

    assert await statuses(client, *pages) == {
        "/": "HIT",
        "/tickets": "MISS",
        f"/tickets/{ticket.id}": "HIT",
    }


async def test_revalidate_path_of_a_route_reaches_each_of_its_pages(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    first, second = await add_ticket(app), await add_ticket(app)
    pages = ("/", "/tickets", f"/tickets/{first.id}", f"/tickets/{second.id}")
    await warm(client, *pages)

    await app.state.cache.revalidate_path("/tickets/{ticket_id}", "page")

    assert await statuses(client, *pages) == {
        "/": "HIT",
        "/tickets": "HIT",
        f"/tickets/{first.id}": "MISS",
        f"/tickets/{second.id}": "MISS",
    }


async def test_revalidate_path_of_a_layout_reaches_everything_under_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    pages = ("/", "/tickets", f"/tickets/{ticket.id}", "/fragments/status-legend")
    await warm(client, *pages)

    await app.state.cache.revalidate_path("/tickets", "layout")

    assert await statuses(client, *pages) == {
        "/": "HIT",
        "/tickets": "MISS",
        f"/tickets/{ticket.id}": "MISS",
        "/fragments/status-legend": "HIT",
    }


async def test_revalidate_root_layout_reaches_every_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    pages = ("/", "/tickets", f"/tickets/{ticket.id}")
    await warm(client, *pages)

    await app.state.cache.revalidate_path("/", "layout")

    assert set((await statuses(client, *pages)).values()) == {"MISS"}


async def test_render_overlapping_a_delete_stores_nothing_fresh(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read -> (delete + invalidate) -> store: the stored list must not pass as fresh."""
    ticket = await add_ticket(app, title="Read before the delete")
    list_read = asyncio.Event()
    delete_done = asyncio.Event()
    real_list_tickets = queries.list_tickets

    async def list_then_wait(session: AsyncSession, query: ListQuery) -> TicketWindow:
        tickets = await real_list_tickets(session, query)
        list_read.set()
        await delete_done.wait()  # the delete commits and invalidates right here
        return tickets

    monkeypatch.setattr(queries, "list_tickets", list_then_wait)
    slow_read = asyncio.create_task(client.get("/tickets"))
    await list_read.wait()
    deleted = await client.post(f"/tickets/{ticket.id}/delete")
    delete_done.set()
    overlapped = await slow_read
    monkeypatch.setattr(queries, "list_tickets", real_list_tickets)

    after = await client.get("/tickets")

    assert deleted.status_code == 303
    assert "Read before the delete" in overlapped.text  # it read before the delete...
    assert after.headers["x-cache"] == "MISS"  # ...so it was not kept as fresh
    assert "Read before the delete" not in after.text
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"


async def test_a_visitor_asking_again_is_answered_again_until_a_write(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, "Gone after the delete")
    await warm(visitor, "/tickets")  # the HIT is kept for exactly this request
    reads = app.state.cache.metrics.hits.value
    again = await visitor.get("/tickets")
    foreign = await visitor.get("/tickets", headers={"Host": "evil.example"})

    assert again.headers["x-cache"] == "HIT" and "Gone after the delete" in again.text
    assert app.state.cache.metrics.hits.value == reads + 1
    assert foreign.status_code == 400  # another shape: the Host check, as for any request
    await client.post(f"/tickets/{ticket.id}/delete", headers={"HX-Request": "true"})
    after = await visitor.get("/tickets")
    assert after.status_code == 200 and "Gone after the delete" not in after.text
