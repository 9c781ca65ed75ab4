"""@cached: static, timed and dynamic routes, declared queries, declined renders."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from app.cache import CacheError, CacheMiddleware, cached, client_error
from tests.cache.helpers import Site


async def test_timed_route_goes_stale_then_refreshes(site: Site, client: httpx.AsyncClient) -> None:
    first = await client.get("/timed")
    site.clock.now += 60
    stale = await client.get("/timed")
    await site.cache.settle()
    fresh = await client.get("/timed")

    assert stale.headers["x-cache"] == "STALE" and stale.text == first.text
    assert fresh.headers["x-cache"] == "HIT" and fresh.text != first.text


async def test_dynamic_route_bypasses(site: Site, client: httpx.AsyncClient) -> None:
    first = await client.get("/live")
    second = await client.get("/live")

    assert first.headers["x-cache"] == second.headers["x-cache"] == "BYPASS"
    assert "etag" not in first.headers
    assert first.text != second.text


async def test_entry_larger_than_the_store_is_served_but_not_stored(
    site: Site, client: httpx.AsyncClient
) -> None:
    site.size = 2 << 20

    first = await client.get("/static-page")
    second = await client.get("/static-page")

    assert len(first.content) > 2 << 20
    assert first.headers["x-cache"] == second.headers["x-cache"] == "MISS"
    assert site.cache.store.stats()[:2] == (0, 0)  # entries, bytes
    # Refused by the store, kept by nobody: no edge, no browser.
    assert first.headers["cache-control"] == "private, no-store"
    assert "etag" not in first.headers


async def test_errors_are_not_cached(site: Site, client: httpx.AsyncClient) -> None:
    assert (await client.get("/missing")).status_code == 404
    assert site.cache.store.stats()[:2] == (0, 0)  # entries, bytes


async def test_cached_refuses_a_request_that_is_not_a_get(site: Site) -> None:
    async def body(request: Request) -> str:
        return "never"

    app = Starlette(
        routes=[Route("/form", cached()(body), methods=["POST"])],
        middleware=[Middleware(CacheMiddleware, cache=site.cache)],
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(CacheError, match="GET and HEAD"):
            await client.post("/form")


async def test_a_declared_query_keys_the_entry_by_its_canonical_form(
    site: Site, client: httpx.AsyncClient
) -> None:
    first = await client.get("/declared")
    same = [
        await client.get(url) for url in ("/declared?utm_source=x", "/declared?page=01&fbclid=y")
    ]
    second_page = await client.get("/declared?page=2&junk=1")
    refused = await client.get("/declared?page=two")

    assert first.headers["x-cache"] == "MISS"
    assert [(r.headers["x-cache"], r.headers["etag"]) for r in same] == [
        ("HIT", first.headers["etag"])
    ] * 2
    assert second_page.headers["x-cache"] == "MISS" and second_page.text != first.text
    assert (refused.status_code, refused.text) == (400, "page must be a number")
    assert site.renders == 2


# -- the library's own bugs, caught by its own suite (issue 11) -------------------


async def test_revalidate_path_reaches_a_cached_page(site: Site, client: httpx.AsyncClient) -> None:
    await client.get("/static-page")
    await site.cache.revalidate_path("/static-page")
    after_page = await client.get("/static-page")
    await site.cache.revalidate_path("/", "layout")
    after_layout = await client.get("/static-page")

    assert after_page.headers["x-cache"] == after_layout.headers["x-cache"] == "MISS"
    assert site.renders == 3


def test_a_client_error_is_a_declined_render_and_a_server_error_is_not() -> None:
    assert client_error(HTTPException(404, "nope"))
    assert not client_error(HTTPException(503, "later"))
    assert not client_error(RuntimeError("bug"))


async def test_a_route_that_answers_404_is_no_render_error(
    site: Site, client: httpx.AsyncClient
) -> None:
    site.cache.renders.declined = client_error  # as Cache(declined=client_error) does

    answers = [await client.get("/missing") for _ in range(2)]

    assert [a.status_code for a in answers] == [404, 404]
    assert site.cache.metrics.registry.get_sample_value("cache_render_errors_total") == 0
