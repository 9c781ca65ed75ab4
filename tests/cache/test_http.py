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

from app.cache import (
    CacheError,
    CacheMiddleware,
    MemoryStore,
    cached,
    client_error,
)
from app.cache.errors import StoreUnavailable
from app.cache.http import read_after_of, response_key
from tests.cache.helpers import Site, StoreThatFailsOneBump


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


async def test_variants_the_app_names_are_cached_apart(
    site: Site, client: httpx.AsyncClient
) -> None:
    page = await client.get("/static-page")
    part = await client.get("/static-page", headers={"X-Part": "yes"})
    part_again = await client.get("/static-page", headers={"X-Part": "yes"})
    other = await client.get("/static-page", headers={"X-Part": "no"})

    assert page.text.startswith("<html>") and part.text.startswith("part")
    assert (part.headers["x-cache"], part_again.headers["x-cache"]) == ("MISS", "HIT")
    assert (other.headers["x-cache"], other.text) == ("HIT", page.text)
    assert page.headers["vary"] == part.headers["vary"] == "X-Part, Accept-Encoding"
    assert site.renders == 2


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


async def test_a_hit_sends_the_stored_variant_the_client_accepts(
    site: Site, client: httpx.AsyncClient
) -> None:
    site.size = 20_000
    plain = await client.get("/static-page", headers={"Accept-Encoding": "identity"})
    br = await client.get("/static-page", headers={"Accept-Encoding": "gzip, br"})
    gz = await client.get("/static-page", headers={"Accept-Encoding": "gzip"})

    assert (plain.headers["x-cache"], br.headers["x-cache"], gz.headers["x-cache"]) == (
        "MISS",
        "HIT",
        "HIT",
    )
    assert "content-encoding" not in plain.headers
    assert (br.headers["content-encoding"], gz.headers["content-encoding"]) == ("br", "gzip")
    assert br.text == gz.text == plain.text  # httpx decodes both
    assert int(br.headers["content-length"]) * 5 < int(plain.headers["content-length"])
    assert len({plain.headers["etag"], br.headers["etag"], gz.headers["etag"]}) == 3
    assert br.headers["vary"] == "X-Part, Accept-Encoding"
    assert site.renders == 1


async def test_if_none_match_is_judged_against_the_variant_sent(
    site: Site, client: httpx.AsyncClient
) -> None:
    site.size = 20_000
    gz = await client.get("/static-page", headers={"Accept-Encoding": "gzip"})
    plain_etag = (await client.get("/static-page", headers={"Accept-Encoding": ""})).headers["etag"]

    same = await client.get(
        "/static-page", headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["etag"]}
    )
    other = await client.get(
        "/static-page", headers={"Accept-Encoding": "gzip", "If-None-Match": plain_etag}
    )

    assert same.status_code == 304 and same.headers["content-encoding"] == "gzip"
    assert other.status_code == 200 and other.headers["etag"] == gz.headers["etag"]


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


async def test_every_cached_answer_says_what_it_varies_by(
    site: Site, client: httpx.AsyncClient
) -> None:
    miss = await client.get("/static-page")
    hit = await client.get("/static-page")
    not_modified = await client.get("/static-page", headers={"If-None-Match": hit.headers["etag"]})
    bypass = await client.get("/live")

    assert hit.headers["x-cache"] == "HIT" and not_modified.status_code == 304
    for answer in (miss, hit, not_modified, bypass):
        assert answer.headers["vary"] == "X-Part, Accept-Encoding"


@pytest.mark.parametrize("if_none_match", ['"other"', 'W/"other", "another"', "", "garbage"])
async def test_an_if_none_match_that_does_not_match_gets_the_body(
    client: httpx.AsyncClient, if_none_match: str
) -> None:
    first = await client.get("/static-page")

    answer = await client.get("/static-page", headers={"If-None-Match": if_none_match})

    assert answer.status_code == 200
    assert answer.text == first.text


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


# -- read your own writes under soft invalidation ------------------------------------


async def test_the_writer_never_reads_the_stale_body_others_may_once(site: Site) -> None:
    transport = httpx.ASGITransport(app=site.app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as writer,
        httpx.AsyncClient(transport=transport, base_url="http://t") as other,
    ):
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
    transport = httpx.ASGITransport(app=site.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as writer:
        before = await writer.get("/static-page")
        await writer.post("/write")
        after = await writer.get("/static-page")
        writer.cookies.clear()  # another visitor now: the entry is fresh for all
        then = await writer.get("/static-page")

    assert after.headers["x-cache"] == "MISS" and after.text != before.text
    assert (then.headers["x-cache"], then.text) == ("HIT", after.text)


def test_the_read_after_cookie_is_found_among_others() -> None:
    def scope(cookie: bytes) -> dict[str, object]:
        return {"headers": [(b"host", b"t"), (b"cookie", cookie)]}

    assert read_after_of(scope(b"a=1; cache-read-after=42; b=2")) == 42
    assert read_after_of(scope(b"cache-read-after=junk")) == 0
    assert read_after_of(scope(b"x-cache-read-after=7")) == 0
    assert read_after_of({"headers": []}) == 0
