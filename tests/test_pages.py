"""GET pages through the cache: headers, variants, 304, escaping."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.helpers import HTMX, add_ticket


async def test_list_is_a_miss_then_a_hit_with_the_same_etag(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    await add_ticket(app, title="First")
    first = await visitor.get("/tickets")
    second = await visitor.get("/tickets")

    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert first.headers["etag"] == second.headers["etag"]
    assert first.text == second.text
    for response in (first, second):
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["vary"] == (
            "HX-Request, HX-History-Restore-Request, Cookie, Accept-Encoding"
        )
        assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_matching_if_none_match_gets_304(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/tickets")).headers["etag"]

    not_modified = await client.get("/tickets", headers={"If-None-Match": etag})
    weak = await client.get("/tickets", headers={"If-None-Match": f'"other", W/{etag}'})
    other = await client.get("/tickets", headers={"If-None-Match": '"other"'})

    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert weak.status_code == 304
    assert other.status_code == 200


async def test_etag_on_the_miss_is_honoured_too(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/")).headers["etag"]
    await client.post("/tickets", data={"title": "New", "content": "Body"})

    response = await client.get("/", headers={"If-None-Match": etag})

    assert response.status_code == 200  # the page changed: a new body, a new etag
    assert response.headers["x-cache"] == "MISS"
    assert response.headers["etag"] != etag


async def test_htmx_request_gets_the_fragment_only(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_ticket(app, title="Fragment me")
    page = await client.get("/tickets")
    fragment = await client.get("/tickets", headers=HTMX)

    assert "<html" in page.text
    assert "<html" not in fragment.text and "<body" not in fragment.text
    assert 'id="ticket-list"' in fragment.text and "Fragment me" in fragment.text
    assert fragment.headers["x-cache"] == "MISS"  # its own entry, not the page's
    assert fragment.headers["etag"] != page.headers["etag"]
    assert (await client.get("/tickets", headers=HTMX)).headers["x-cache"] == "HIT"


async def test_history_restore_gets_the_whole_page(client: httpx.AsyncClient) -> None:
    restore = {**HTMX, "HX-History-Restore-Request": "true"}
    response = await client.get("/tickets", headers=restore)

    assert "<html" in response.text


async def test_query_order_does_not_split_the_cache(client: httpx.AsyncClient) -> None:
    await client.get("/tickets?b=2&a=1")
    response = await client.get("/tickets?a=1&b=2")

    assert response.headers["x-cache"] == "HIT"


async def test_list_holds_each_ticket_with_a_delete_button(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    older = await add_ticket(app, title="Older")
    newer = await add_ticket(app, title="Newer")
    text = (await client.get("/tickets")).text

    assert f'id="ticket-{older.id}"' in text and f'id="ticket-{newer.id}"' in text
    assert text.index("Newer") < text.index("Older")  # newest first
    assert text.count(">Delete</button>") == 2
    assert 'action="/tickets"' in text  # the create form


async def test_home_counts_tickets_by_status(app: Starlette, client: httpx.AsyncClient) -> None:
    from app.models import TicketStatus

    await add_ticket(app, status=TicketStatus.OPEN)
    await add_ticket(app, status=TicketStatus.DONE)
    await add_ticket(app, status=TicketStatus.DONE)
    text = (await client.get("/")).text

    assert '"/tickets?status=DONE"><span class="count__n">2<' in text
    assert '"/tickets?status=OPEN"><span class="count__n">1<' in text
    assert '"/tickets?status=IN_PROGRESS"><span class="count__n">0<' in text


async def test_ticket_page_and_unknown_ticket(app: Starlette, client: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app, title="Visible", content="All the details")
    found = await client.get(f"/tickets/{ticket.id}")
    missing = await client.get("/tickets/no-such-id")

    assert found.status_code == 200 and "All the details" in found.text
    assert missing.status_code == 404
    assert "Not found" in missing.text and "<html" in missing.text
    assert "x-cache" not in missing.headers  # errors are never stored
    assert (await client.get("/tickets/no-such-id")).status_code == 404


async def test_titles_are_escaped(app: Starlette, client: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app, title="<script>alert(1)</script>", content="<b>bold</b>")

    for path in ("/tickets", f"/tickets/{ticket.id}"):
        text = (await client.get(path)).text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>bold</b>" not in (await client.get(f"/tickets/{ticket.id}")).text


async def test_head_is_served_from_the_cache(client: httpx.AsyncClient) -> None:
    await client.get("/tickets")
    response = await client.head("/tickets")

    assert response.status_code == 200
    assert response.headers["x-cache"] == "HIT"


async def test_static_files_and_metrics(visitor: httpx.AsyncClient) -> None:
    client = visitor  # a session would be a cache read of its own
    css = await client.get("/static/app.css")
    await client.get("/tickets")
    await client.get("/tickets")
    metrics = await client.get("/metrics")

    assert css.status_code == 200 and "x-cache" not in css.headers
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "cache_hits_total 1.0" in metrics.text
    assert "cache_misses_total" in metrics.text


async def test_compressed_list_is_at_most_a_fifth_of_the_plain_one(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    for n in range(20):
        await add_ticket(app, title=f"Ticket number {n}", content=f"What happened to {n}.")
    plain = await client.get("/tickets", headers={"Accept-Encoding": "identity"})
    compressed = await client.get("/tickets", headers={"Accept-Encoding": "gzip, br"})

    assert compressed.headers["x-cache"] == "HIT"
    assert compressed.headers["content-encoding"] == "br"
    assert int(compressed.headers["content-length"]) * 5 <= int(plain.headers["content-length"])
    assert compressed.text == plain.text
