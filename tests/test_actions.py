"""POST actions: validate, write, invalidate, answer; bad input changes nothing."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from app.models import Ticket
from tests.helpers import HTMX, add_ticket, ticket_count


async def cached_pages(client: httpx.AsyncClient, *paths: str) -> None:
    """Render each page once so the next read is a HIT."""
    for path in paths:
        await client.get(path)
        assert (await client.get(path)).headers["x-cache"] == "HIT"


async def test_delete_over_htmx_redirects_and_the_list_is_rendered_fresh(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Doomed ticket")
    await cached_pages(client, "/tickets", f"/tickets/{ticket.id}")

    response = await client.post(f"/tickets/{ticket.id}/delete", headers=HTMX)
    after = await client.get("/tickets")
    again = await client.get("/tickets")

    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/tickets"
    assert after.headers["x-cache"] == "MISS"
    assert "Doomed ticket" not in after.text
    assert again.headers["x-cache"] == "HIT"
    assert (await client.get(f"/tickets/{ticket.id}")).status_code == 404


async def test_create_over_htmx_redirects_and_the_list_shows_it(
    client: httpx.AsyncClient,
) -> None:
    await cached_pages(client, "/tickets", "/")

    response = await client.post(
        "/tickets", data={"title": "Brand new", "content": "Details"}, headers=HTMX
    )
    after = await client.get("/tickets")
    home = await client.get("/")

    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/tickets"
    assert after.headers["x-cache"] == "MISS" and "Brand new" in after.text
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"
    assert home.headers["x-cache"] == "MISS"
    assert 'aria-current="page"><span class="count__n">1<' in home.text  # "All", on no filter


async def test_update_over_htmx_redirects_to_the_ticket(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Old title")
    await cached_pages(client, "/tickets", f"/tickets/{ticket.id}")

    response = await client.post(
        f"/tickets/{ticket.id}/update",
        data={"title": "New title", "content": "New content", "status": "IN_PROGRESS"},
        headers=HTMX,
    )
    page = await client.get(f"/tickets/{ticket.id}")
    listing = await client.get("/tickets")

    assert response.status_code == 200
    assert response.headers["hx-redirect"] == f"/tickets/{ticket.id}"
    assert page.headers["x-cache"] == "MISS"
    assert "New content" in page.text and "In progress" in page.text
    assert listing.headers["x-cache"] == "MISS" and "New title" in listing.text
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"


async def test_update_of_one_ticket_keeps_the_other_tickets_page_cached(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    changed, untouched = await add_ticket(app), await add_ticket(app)
    await cached_pages(client, f"/tickets/{untouched.id}")

    await client.post(f"/tickets/{changed.id}/update", data={"status": "DONE"})

    assert (await client.get(f"/tickets/{untouched.id}")).headers["x-cache"] == "HIT"


@pytest.mark.parametrize(
    ("action", "expected_location"),
    [
        pytest.param("create", "/tickets", id="create"),
        pytest.param("update", "/tickets/{id}", id="update"),
        pytest.param("delete", "/tickets", id="delete"),
    ],
)
async def test_plain_form_posts_get_303(
    app: Starlette, client: httpx.AsyncClient, action: str, expected_location: str
) -> None:
    ticket = await add_ticket(app)
    path = {
        "create": "/tickets",
        "update": f"/tickets/{ticket.id}/update",
        "delete": f"/tickets/{ticket.id}/delete",
    }[action]
    fields = {"title": "Plain", "content": "No JavaScript"} if action != "delete" else {}

    response = await client.post(path, data=fields)

    assert response.status_code == 303
    assert response.headers["location"] == expected_location.format(id=ticket.id)


async def test_inline_delete_answers_an_empty_row(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    headers = {**HTMX, "HX-Target": f"ticket-{ticket.id}"}

    response = await client.post(f"/tickets/{ticket.id}/delete", headers=headers)

    assert response.status_code == 200
    assert response.text == ""
    assert response.headers["hx-trigger"] == "tickets-changed"  # the public contract
    assert "hx-redirect" not in response.headers
    assert await ticket_count(app) == 0


async def test_inline_status_change_answers_the_row(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Row")
    await cached_pages(client, "/tickets", "/fragments/counts")
    headers = {**HTMX, "HX-Target": f"ticket-{ticket.id}"}

    response = await client.post(
        f"/tickets/{ticket.id}/update", data={"status": "DONE"}, headers=headers
    )
    counts = await client.get("/fragments/counts", headers=HTMX)

    assert response.status_code == 200
    assert response.text.startswith(f'<li id="ticket-{ticket.id}"')
    assert '<option value="DONE" selected>' in response.text
    assert response.headers["hx-trigger"] == "tickets-changed"  # the public contract
    assert counts.headers["x-cache"] == "MISS"
    assert 'data-status="DONE" href="/tickets?status=DONE"><span class="count__n">1<' in counts.text


async def test_inline_create_answers_the_new_row(app: Starlette, client: httpx.AsyncClient) -> None:
    headers = {**HTMX, "HX-Target": "list-page-first"}

    response = await client.post(
        "/tickets", data={"title": "Inline", "content": "Made in place"}, headers=headers
    )

    assert response.status_code == 200
    assert response.text.startswith('<li id="ticket-')
    assert "Inline" in response.text
    assert response.headers["hx-trigger"] == "tickets-changed"  # the public contract
    assert await ticket_count(app) == 1


INVALID_CREATES = [
    pytest.param({"title": "", "content": "x"}, "title", id="empty-title"),
    pytest.param({"title": "   ", "content": "x"}, "title", id="blank-title"),
    pytest.param({"title": "x" * 192, "content": "x"}, "title", id="title-192"),
    pytest.param({"title": "x", "content": ""}, "content", id="empty-content"),
    pytest.param({"title": "x", "content": "x" * 1025}, "content", id="content-1025"),
    pytest.param({"content": "x"}, "title", id="missing-title"),
]


@pytest.mark.parametrize(("fields", "bad_field"), INVALID_CREATES)
async def test_invalid_create_is_422_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, fields: dict[str, str], bad_field: str
) -> None:
    await cached_pages(client, "/tickets")

    response = await client.post("/tickets", data=fields)

    assert response.status_code == 422
    assert f'id="{bad_field}-error"' in response.text  # the message tied to its field
    assert 'id="ticket-form"' in response.text and "<html" in response.text
    assert await ticket_count(app) == 0
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"


async def test_title_of_191_characters_is_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post("/tickets", data={"title": "x" * 191, "content": "ok"})

    assert response.status_code == 303
    assert await ticket_count(app) == 1


async def test_invalid_create_over_htmx_answers_the_form_in_place(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/tickets", data={"title": "", "content": "kept"}, headers=HTMX)

    assert response.status_code == 422
    assert response.headers["hx-retarget"] == "#ticket-form"
    assert response.headers["hx-reswap"] == "outerHTML"
    assert response.text.startswith('<form id="ticket-form"')
    assert "Enter a title." in response.text
    assert ">kept</textarea>" in response.text  # what was typed is not lost


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"status": "CLOSED"}, id="unknown-status"),
        pytest.param({"title": "x" * 192}, id="title-192"),
        pytest.param({}, id="nothing"),
    ],
)
async def test_invalid_update_is_422_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    ticket = await add_ticket(app, title="Stays")
    await cached_pages(client, "/tickets", f"/tickets/{ticket.id}")

    response = await client.post(f"/tickets/{ticket.id}/update", data=fields)

    assert response.status_code == 422
    assert 'class="field-error"' in response.text or 'class="form-error"' in response.text
    async with app.state.db.session() as session:
        stored = await session.get(Ticket, ticket.id)
    assert stored is not None and stored.title == "Stays" and stored.status == "OPEN"
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"
    assert (await client.get(f"/tickets/{ticket.id}")).headers["x-cache"] == "HIT"


@pytest.mark.parametrize("action", ["update", "delete"])
async def test_unknown_id_is_404_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, action: str
) -> None:
    await add_ticket(app)
    await cached_pages(client, "/tickets")
    invalidations_before = _invalidations(await client.get("/metrics"))

    response = await client.post(f"/tickets/missing/{action}", data={"status": "DONE"})

    assert response.status_code == 404
    assert "Not found" in response.text
    assert await ticket_count(app) == 1
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"
    assert _invalidations(await client.get("/metrics")) == invalidations_before


CROSS_SITE = [
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="sec-fetch-cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site"}, id="sec-fetch-same-site"),
    pytest.param({"Origin": "https://evil.example"}, id="foreign-origin"),
    pytest.param({"Origin": "null"}, id="null-origin"),
    pytest.param(
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"},
        id="same-origin-claim-foreign-origin",
    ),
]


@pytest.mark.parametrize("headers", CROSS_SITE)
@pytest.mark.parametrize("action", ["create", "update", "delete"])
async def test_cross_site_posts_are_refused_and_change_nothing(
    app: Starlette, client: httpx.AsyncClient, headers: dict[str, str], action: str
) -> None:
    ticket = await add_ticket(app, title="Safe")
    await cached_pages(client, "/tickets")
    path = {
        "create": "/tickets",
        "update": f"/tickets/{ticket.id}/update",
        "delete": f"/tickets/{ticket.id}/delete",
    }[action]

    response = await client.post(
        path, data={"title": "Evil", "content": "x", "status": "DONE"}, headers=headers
    )

    assert response.status_code == 403
    assert "refused" in response.text
    assert await ticket_count(app) == 1
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, id="browser"),
        pytest.param({"Origin": "http://localhost"}, id="origin-only"),
        pytest.param({}, id="not-a-browser"),
    ],
)
async def test_same_origin_posts_are_served(
    app: Starlette, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/tickets", data={"title": "Mine", "content": "x"}, headers=headers
    )

    assert response.status_code == 303
    assert await ticket_count(app) == 1


def _invalidations(metrics: httpx.Response) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.text.splitlines()
        if line.startswith("cache_invalidations_total{")
    )
