"""The cache over HTTP, on a tiny app of its own: no tickets, no database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from app.cache import Cache, CacheMiddleware, MemoryStore, cache_tag, cached
from app.cache.errors import StoreUnavailable
from app.cache.http import is_fragment_request, response_key
from tests.cache.test_engine import Clock


class Site:
    """A Starlette app whose endpoints count renders and can be held at a gate."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.clock = Clock()
        self.cache = Cache(store or MemoryStore(1 << 20), now=self.clock)
        self.renders = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.size = 10

        async def body(request: Request) -> str:
            self.renders += 1
            cache_tag("data")
            self.started.set()
            if self.gate is not None:
                await self.gate.wait()
            kind = "fragment" if is_fragment_request(request) else "<html>page"
            return f"{kind} {self.renders} " + "x" * self.size

        async def missing(request: Request) -> str:
            raise HTTPException(404, "nope")

        self.app = Starlette(
            routes=[
                Route("/static-page", cached()(body)),
                Route("/timed", cached(revalidate=60)(body)),
                Route("/live", cached(dynamic=True)(body)),
                Route("/missing", cached()(missing)),
            ],
            middleware=[Middleware(CacheMiddleware, cache=self.cache)],
        )
        self.app.state.cache = self.cache


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def client(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def test_response_key_sorts_the_query_and_names_the_variant() -> None:
    assert response_key("/p", b"b=2&a=1&a=0", "page") == "/p?a=0&a=1&b=2 page"


async def test_static_route_miss_hit_and_304(site: Site, client: httpx.AsyncClient) -> None:
    miss = await client.get("/static-page")
    hit = await client.get("/static-page")
    not_modified = await client.get("/static-page", headers={"If-None-Match": hit.headers["etag"]})
    star = await client.get("/static-page", headers={"If-None-Match": "*"})

    assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT")
    assert miss.text == hit.text
    assert (not_modified.status_code, star.status_code) == (304, 304)
    assert site.renders == 1


async def test_variants_are_cached_apart(site: Site, client: httpx.AsyncClient) -> None:
    page = await client.get("/static-page")
    fragment = await client.get("/static-page", headers={"HX-Request": "true"})
    restore = await client.get(
        "/static-page",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    assert fragment.text.startswith("fragment")
    assert page.text.startswith("<html>") and restore.text == page.text
    assert restore.headers["x-cache"] == "HIT"


async def test_64_concurrent_requests_render_once(site: Site, client: httpx.AsyncClient) -> None:
    site.gate = asyncio.Event()

    requests = [asyncio.create_task(client.get("/static-page")) for _ in range(64)]
    await site.started.wait()
    while site.cache.waiting < 63:  # hold the render until every other request joined it
        await asyncio.sleep(0)
    site.gate.set()
    responses = await asyncio.gather(*requests)

    statuses = [r.headers["x-cache"] for r in responses]
    assert site.renders == 1
    assert statuses.count("MISS") == 1 and statuses.count("HIT") == 63
    assert site.cache.waiting == 0


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
    assert site.cache.store.stats() == (0, 0)


async def test_errors_are_not_cached(site: Site, client: httpx.AsyncClient) -> None:
    assert (await client.get("/missing")).status_code == 404
    assert site.cache.store.stats() == (0, 0)


async def test_invalidation_reaches_the_fast_path(site: Site, client: httpx.AsyncClient) -> None:
    await client.get("/static-page")
    await site.cache.revalidate_tag("data")

    assert (await client.get("/static-page")).headers["x-cache"] == "MISS"


async def test_other_scopes_pass_through(site: Site) -> None:
    seen: list[str] = []

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    middleware = CacheMiddleware(inner, site.cache)  # type: ignore[arg-type]
    await middleware({"type": "lifespan"}, None, None)  # type: ignore[arg-type]

    assert seen == ["lifespan"]


async def test_metrics_render_as_prometheus_text(site: Site, client: httpx.AsyncClient) -> None:
    await client.get("/static-page")
    text = site.cache.metrics.render().decode()

    assert site.cache.metrics.content_type.startswith("text/plain")
    assert "cache_misses_total 1.0" in text
    assert "cache_render_seconds_bucket" in text


class DownStore(MemoryStore):
    """A store that cannot be reached at all."""

    async def get(self, key: str, now: float) -> None:
        raise StoreUnavailable("store is down")


async def test_store_down_serves_pages_uncached() -> None:
    site = Site(DownStore(1 << 20))
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        first = await client.get("/static-page")
        second = await client.get("/static-page")

    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == second.headers["x-cache"] == "BYPASS"
    assert "cache_store_errors_total 2.0" in site.cache.metrics.render().decode()


class StoreThatFailsOneBump(MemoryStore):
    """A store that refuses the next bump once (a blip), then works again."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self.fail_next_bump = False

    async def bump(self, tags: frozenset[str], *, stale: bool = False) -> None:
        if self.fail_next_bump:
            self.fail_next_bump = False
            raise StoreUnavailable("blip")
        await super().bump(tags, stale=stale)


async def test_a_bump_owed_after_a_blip_is_paid_before_the_fast_path_serves() -> None:
    store = StoreThatFailsOneBump(1 << 20)
    site = Site(store)
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        before = await client.get("/static-page")
        store.fail_next_bump = True
        await site.cache.revalidate_tag("data")  # the write's bump is owed, not applied
        after = [await client.get("/static-page") for _ in range(3)]

    assert [r.headers["x-cache"] for r in after] == ["MISS", "HIT", "HIT"]
    assert all(r.text != before.text for r in after)
    assert site.renders == 2
