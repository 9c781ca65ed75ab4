"""The cache inspector: for a URL, what the cache holds behind it and why (admins only)."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from app.cache.errors import StoreUnavailable
from tests.helpers import add_ticket, app_client, sign_in


def text_of(page: httpx.Response) -> str:
    main = page.text[page.text.find("<main") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


async def test_an_admin_sees_the_entry_its_tags_its_render_and_its_last_miss(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await visitor.get("/tickets")  # a miss: nothing was there
    await visitor.get("/tickets")

    inspected = await client.get("/admin/cache", params={"url": "/tickets?utm_source=x"})
    seen = text_of(inspected)

    assert inspected.status_code == 200
    assert "Key /tickets? page In the store fresh" in seen  # junk parameters: the same key
    assert re.search(r"Made by render \S+:\d+ #\d+", seen)
    # Stamped when the ticket was written, before this entry's snapshot: fresh.
    assert re.search(rf"ticket:{ticket.id} \d+ none no", seen)
    assert re.search(r"ticket\? \d+ none no", seen)
    assert "Last not served fresh" in seen and "no entry in the store" in seen
    assert "Key /tickets? partial In the store nothing servable" in seen


async def test_a_bumped_tag_shows_why_the_next_read_was_a_miss(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await visitor.get(f"/tickets/{ticket.id}")
    await client.post(f"/tickets/{ticket.id}/update", data={"title": "Renamed"})

    gone = text_of(await client.get("/admin/cache", params={"url": f"/tickets/{ticket.id}"}))
    await visitor.get(f"/tickets/{ticket.id}")
    back = text_of(await client.get("/admin/cache", params={"url": f"/tickets/{ticket.id}"}))

    assert "nothing servable: the next request renders it" in gone
    assert re.search(rf"ticket:{ticket.id} \d+ none no", back)  # bumped, before this snapshot


async def test_only_admins_inspect_and_only_this_site(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    async with app_client(app) as bob:
        await sign_in(app, bob, "Bob")
        refused = await bob.get("/admin/cache")
    sent_away = await visitor.get("/admin/cache")
    elsewhere = await client.get("/admin/cache", params={"url": "https://evil.example/"})
    uncached = await client.get("/admin/cache", params={"url": "/static/app.css"})
    bad = await client.get("/admin/cache", params={"url": "/tickets?status=NOPE"})

    assert refused.status_code == 403 and "for admins" in refused.text
    assert sent_away.status_code == 303 and sent_away.headers["location"].startswith("/login")
    assert elsewhere.status_code == 400
    assert uncached.status_code == 200 and "not served through the cache" in uncached.text
    assert bad.status_code == 400


async def test_an_escaped_path_is_inspected_as_requests_see_it(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    escaped = f"/tickets/{ticket.id}".replace("/tickets", "/%74ickets")  # as pasted
    await visitor.get(f"/tickets/{ticket.id}")

    seen = text_of(await client.get("/admin/cache", params={"url": escaped}))

    assert f"Key /tickets/{ticket.id}? page In the store fresh" in seen


async def test_a_store_that_cannot_be_reached_is_said_so(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    store = app.state.cache.store
    real_get = store.get

    async def down(key: str, now: float) -> None:
        raise StoreUnavailable("store is down")

    store.get = down
    try:
        answer = await client.get("/admin/cache", params={"url": "/tickets"})
    finally:
        store.get = real_get

    assert answer.status_code == 503 and "cannot be reached" in answer.text


async def test_the_figures_count_reads_by_route_and_writes_by_stage_for_admins_only(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await visitor.get("/tickets")
    await visitor.get("/tickets")
    await visitor.get(f"/tickets/{ticket.id}")
    await client.post(f"/tickets/{ticket.id}/update", data={"status": "DONE"})

    figures = await client.get("/admin/cache/figures")
    page = await client.get("/admin/cache")
    async with app_client(app) as bob:
        await sign_in(app, bob, "Bob")
        refused = await bob.get("/admin/cache/figures")
    sent_away = await visitor.get("/admin/cache/figures")

    assert figures.status_code == 200 and figures.headers["cache-control"] == "no-store"
    hour = figures.json()["hour"]
    assert hour["hits"]["/tickets"] >= 1 and hour["misses"]["/tickets/{id}"] == 1
    assert hour["invalidations"] >= 1
    consistent = figures.json()["consistent"]
    assert sum(consistent["buckets"]["store"]) >= 1 and sum(consistent["buckets"]["live"]) >= 1
    assert any(tag == f"ticket:{ticket.id}" for tag, _ in figures.json()["most_invalidated"])
    scope = "process" if app.state.cache.store.board is None else "cluster"  # Redis: shared
    assert f'data-figures="/admin/cache/figures?scope={scope}"' in page.text
    assert "<table" in page.text
    assert refused.status_code == 403
    assert sent_away.status_code == 303


async def test_the_cluster_s_figures_are_asked_by_scope(client: httpx.AsyncClient) -> None:
    cluster = await client.get("/admin/cache/figures", params={"scope": "cluster"})
    odd = await client.get("/admin/cache/figures", params={"scope": "everywhere"})

    assert cluster.status_code == 200 and cluster.json()["scope"] == "cluster"
    assert odd.status_code == 400 and "process or cluster" in odd.text
