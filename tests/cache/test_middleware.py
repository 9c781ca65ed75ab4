"""CacheMiddleware: fresh HITs answered before routing, the cache bound to every request."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.cache import CacheMiddleware, MemoryStore
from app.cache.errors import StoreUnavailable
from tests.cache.helpers import Site, StoreThatFailsOneBump, client_of


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
    async with client_of(site.app) as client:
        first = await client.get("/static-page")
        second = await client.get("/static-page")

    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == second.headers["x-cache"] == "BYPASS"
    assert "cache_store_errors_total 2.0" in site.cache.metrics.render().decode()


async def test_a_bump_owed_after_a_blip_is_paid_before_the_fast_path_serves() -> None:
    store = StoreThatFailsOneBump(1 << 20)
    site = Site(store)
    async with client_of(site.app) as client:
        before = await client.get("/static-page")
        store.fail_next_bump = True
        await site.cache.revalidate_tag("data")  # the write's bump is owed, not applied
        after = [await client.get("/static-page") for _ in range(3)]

    assert [r.headers["x-cache"] for r in after] == ["MISS", "HIT", "HIT"]
    assert all(r.text != before.text for r in after)
    assert site.renders == 2


async def test_the_fast_path_and_serve_read_through_one_lookup(
    site: Site, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[tuple[str, bool]] = []
    store_reads: list[str] = []
    lookup, get = site.cache.lookup, site.cache.store.get

    async def counted_lookup(key: str, *, fresh_only: bool = False) -> object:
        lookups.append((key, fresh_only))
        return await lookup(key, fresh_only=fresh_only)

    async def counted_get(key: str, now: float) -> object:
        store_reads.append(key)
        return await get(key, now)

    monkeypatch.setattr(site.cache, "lookup", counted_lookup)
    monkeypatch.setattr(site.cache.store, "get", counted_get)

    miss = await client.get("/static-page")
    miss_lookups, miss_reads = len(lookups), len(store_reads)
    hit = await client.get("/static-page")

    assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT")
    key = "/static-page? page"
    # The miss: the fast path asks for a fresh answer, then serve reads again
    # (and once more under the render lease); the hit: the fast path only.
    assert lookups[:miss_lookups] == [(key, True), (key, False)]
    assert miss_reads == 3
    assert lookups[miss_lookups:] == [(key, True)]
    assert len(store_reads) - miss_reads == 1
    assert "cache_hits_total 1.0" in site.cache.metrics.render().decode()


async def test_a_stale_entry_is_left_by_the_fast_path_and_counted_once(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.get("/timed")
    site.clock.now += 60

    stale = await client.get("/timed")
    await site.cache.settle()

    assert stale.headers["x-cache"] == "STALE"
    assert "cache_stale_serves_total 1.0" in site.cache.metrics.render().decode()


# -- read your own writes under soft invalidation ------------------------------------


async def test_the_writer_never_reads_the_stale_body_others_may_once(site: Site) -> None:
    async with client_of(site.app) as writer, client_of(site.app) as other:
        before = await other.get("/static-page")
        wrote = await writer.post("/write")
        site.gate = asyncio.Event()  # the refresh the other reader starts is held

        others_read = await other.get("/static-page")
        writers_read = asyncio.create_task(writer.get("/static-page"))
        while site.cache.waiting == 0:  # until the writer's read waits for that render
            await asyncio.sleep(0)
        site.gate.set()
        mine = await writers_read

    assert "cache-read-after=" in wrote.headers["set-cookie"]
    assert "HttpOnly" in wrote.headers["set-cookie"]
    assert (others_read.headers["x-cache"], others_read.text) == ("STALE", before.text)
    assert mine.headers["x-cache"] != "STALE" and mine.text != before.text
    assert mine.text.startswith("<html>page 2 ")


async def test_a_writer_alone_gets_the_new_body_at_once(site: Site) -> None:
    async with client_of(site.app) as writer:
        before = await writer.get("/static-page")
        await writer.post("/write")
        after = await writer.get("/static-page")
        writer.cookies.clear()  # another visitor now: the entry is fresh for all
        then = await writer.get("/static-page")

    assert after.headers["x-cache"] == "MISS" and after.text != before.text
    assert (then.headers["x-cache"], then.text) == ("HIT", after.text)
