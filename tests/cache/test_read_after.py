"""Read your own writes at every layer: a write's clock is its visitor's token.

A write's answer sets ``cache-read-after`` (the store clock after its bump).
A process reads for that visitor only once it has heard of that bump (it
waits a little), or reads through, keeping nothing; an edge is told how
recent each answer is (``x-cache-clock``) and hands the clock on in
``x-cache-read-after``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.cache import Cache, MemoryStore, cache_tag, collected_tags, fragment, fragments
from app.cache.context import READ_AFTER_COOKIE, Binding
from app.cache.keys import ONE_VARIANT, clock_of, request_key
from app.cache.redis import RedisStore
from app.cache.scope import RenderScope, render_scope
from app.cache.served import CacheStatus
from app.cache.unkept import Unkept
from harness.metrics import metrics
from harness.servers import RedisServer
from tests.cache.helpers import Site, client_of, hold_channel

EDGE = {"surrogate-capability": 'edge="tags"'}  # what the edge adds to what it asks


def read_throughs(site: Site) -> float:
    return metrics(site.cache.metrics.render().decode())["cache_read_throughs_total"]


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        pytest.param(b"1700000000000000", 1_700_000_000_000_000, id="a clock"),
        pytest.param(b"999999999999999999", 10**18 - 1, id="18 digits"),
        pytest.param(b"9999999999999999999", 0, id="19 digits: no clock"),
        pytest.param(b"9" * 5000, 0, id="5,000 digits: no clock, and no error"),
        pytest.param(b"", 0, id="empty"),
        pytest.param(b"-5", 0, id="negative"),
        pytest.param(b"12x", 0, id="junk"),
    ],
)
def test_a_read_after_clock_is_a_short_decimal_number(text: bytes, clock: int) -> None:
    assert clock_of(text) == clock


def test_a_request_reads_after_the_later_of_its_cookie_and_its_edge_header() -> None:
    def read_after(*headers: tuple[bytes, bytes]) -> int:
        scope = {"path": "/", "query_string": b"", "headers": list(headers)}
        return request_key(scope, ONE_VARIANT).read_after

    assert read_after() == 0
    assert read_after((b"cookie", b"a=1; cache-read-after=42")) == 42
    assert read_after((b"x-cache-read-after", b"7")) == 7
    assert read_after((b"cookie", b"cache-read-after=42"), (b"x-cache-read-after", b"50")) == 50
    assert read_after((b"x-cache-read-after", b"9" * 5000)) == 0


async def test_every_write_tells_its_visitor_the_clock_to_read_after(
    site: Site, client: httpx.AsyncClient
) -> None:
    hard = await client.post("/write-hard")
    soft = await client.post("/write")

    assert hard.cookies[READ_AFTER_COOKIE] == "1"  # the memory store's clock after it
    assert soft.cookies[READ_AFTER_COOKIE] == "2"
    assert await site.cache.catch_up(10**15)  # one process: it has heard every bump


async def test_an_edge_is_told_how_recent_each_answer_is(
    site: Site, client: httpx.AsyncClient
) -> None:
    rendered = await client.get("/static-page", headers=EDGE)
    await site.cache.revalidate_tag("elsewhere")  # a bump this page does not hold
    again = await client.get("/static-page", headers=EDGE)
    timed = await client.get("/timed", headers=EDGE)
    await site.cache.revalidate_tag("elsewhere")
    site.clock.now += 61  # its time is up: served stale once, while it is refreshed
    stale = await client.get("/timed", headers=EDGE)
    await site.cache.settle()
    live = await client.get("/live", headers=EDGE)
    browser = await client.get("/static-page")

    assert (rendered.headers["x-cache"], rendered.headers["x-cache-clock"]) == ("MISS", "0")
    # Fresh: it reflects every bump heard before it was read, this one too.
    assert (again.headers["x-cache"], again.headers["x-cache-clock"]) == ("HIT", "1")
    assert (timed.headers["x-cache"], timed.headers["x-cache-clock"]) == ("MISS", "1")
    # Stale: only what its render saw (2 was heard before it was read).
    assert (stale.headers["x-cache"], stale.headers["x-cache-clock"]) == ("STALE", "1")
    assert live.headers["x-cache"] == "BYPASS" and "x-cache-clock" not in live.headers
    assert "x-cache-clock" not in browser.headers  # a browser compares nothing


async def test_the_clock_an_edge_hands_on_is_honoured(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.get("/static-page", headers=EDGE)
    await client.post("/write")  # soft: others may get the old body once more
    asked = {**EDGE, "x-cache-read-after": "1"}  # the writer's fetch, through the edge
    mine = await client.get("/static-page", headers=asked)

    assert mine.headers["x-cache"] == "MISS"  # not the stale body, older than their write
    assert mine.headers["x-cache-clock"] == "1"


async def test_the_memory_store_and_a_view_of_it_have_heard_every_bump() -> None:
    store = MemoryStore(1 << 20)
    await store.bump(frozenset({"t"}))
    view = Unkept(store)

    assert store.heard() == view.heard() == 1
    assert await view.catch_up(1)


# -- two processes over Redis, with near copies ----------------------------------------


@asynccontextmanager
async def two_sites(redis_server: RedisServer) -> AsyncIterator[tuple[Site, Site]]:
    """Two processes over one Redis, each a Site with a near copy, both listening."""
    url = redis_server.url + "?prefix=ryw&near=1"
    sites = (Site(RedisStore(url, retry_after=0)), Site(RedisStore(url, retry_after=0)))
    for site in sites:
        await site.cache.start()
    try:
        for site in sites:
            assert isinstance(site.cache.store, RedisStore)
            await asyncio.wait_for(site.cache.store.listening.wait(), 5)
        yield sites
    finally:
        for site in sites:
            await site.cache.close()


async def test_a_process_that_has_not_heard_of_a_write_reads_through_for_its_writer(
    redis_server: RedisServer,
) -> None:
    async with (
        two_sites(redis_server) as (writer_side, reader_side),
        client_of(writer_side.app) as person,
        client_of(reader_side.app) as other,
        client_of(reader_side.app) as person_there,
    ):
        before = await other.get("/static-page")
        assert (await other.get("/static-page")).headers["x-cache"] == "HIT"  # kept near
        store = reader_side.cache.store
        assert isinstance(store, RedisStore)
        held = hold_channel(store)  # the write's news has not reached the reader
        await person.post("/write-hard")
        person_there.cookies.update(person.cookies)
        mine = await person_there.get("/static-page")
        mine_at_edge = await person_there.get("/static-page", headers=EDGE)
        others = await other.get("/static-page")  # no token: what the copy says, for now
        held.release.set()

    assert READ_AFTER_COOKIE in person.cookies
    assert mine.headers["x-cache"] == "BYPASS" and mine.text != before.text
    assert mine_at_edge.headers["x-cache"] == "BYPASS"
    assert "xkey" not in mine_at_edge.headers  # an edge keeps none of it
    assert (others.headers["x-cache"], others.text) == ("HIT", before.text)
    assert read_throughs(reader_side) == 2


async def test_a_read_waits_until_its_process_hears_of_the_write(
    redis_server: RedisServer,
) -> None:
    async with two_sites(redis_server) as (writer_side, reader_side):
        store = reader_side.cache.store
        assert isinstance(store, RedisStore)
        async with client_of(writer_side.app) as person, client_of(reader_side.app) as there:
            before = await there.get("/static-page")
            held = hold_channel(store)
            wrote = await person.post("/write-hard")
            await held.until_arrived()  # here, not yet heard
            there.cookies.update(person.cookies)
            mine = asyncio.create_task(there.get("/static-page", headers=EDGE))
            while not store.channel.heard._waiting:  # until the read waits for the news
                await asyncio.sleep(0)
            held.release.set()
            read = await mine

    wrote_at = int(wrote.cookies[READ_AFTER_COOKIE])
    assert read.headers["x-cache"] == "MISS" and read.text != before.text
    assert int(read.headers["x-cache-clock"]) >= wrote_at  # an edge may keep it for them
    assert read_throughs(reader_side) == 0


async def test_reading_through_renders_every_part_in_its_scope_and_keeps_nothing() -> None:
    store = MemoryStore(1 << 20)
    cache = Cache(store)
    rows = iter(range(1, 10))

    async def row() -> str:
        cache_tag("row:1")
        return f"row {next(rows)}"

    async def page() -> str:
        cache_tag("list")
        inside = await fragment("row", row, 1)
        parts = await fragments("cell", [(1, lambda: "cell")])
        return f"{inside} {parts[0]} [{' '.join(collected_tags())}]"

    with cache.bound(Binding()):
        kept = await cache.serve("/page", page)  # the row kept as a fragment of its own
    with cache.bound(Binding(read_through=True)):
        through = await cache.serve("/page", page)
        again = await cache.serve("/page", page)
    left = await store.get("/page", 0.0)
    await cache.close()

    assert kept.status is CacheStatus.MISS and kept.body == b"row 1 cell [list]"
    # Not the kept row: rendered again; the page's own tags collected as in any render.
    assert through.status is CacheStatus.BYPASS and through.body == b"row 2 cell [list]"
    assert (again.status, again.body) == (CacheStatus.BYPASS, b"row 3 cell [list]")  # kept none
    assert left is not None and left[0].body == kept.body  # the entry kept before is left alone


async def test_a_part_read_through_keeps_the_render_around_it_from_being_stored() -> None:
    cache = Cache(MemoryStore(1 << 20))

    async def part() -> str:
        cache_tag("part")
        return "part"

    around = RenderScope(snapshot=0)
    with cache.bound(Binding(read_through=True)), render_scope(around):
        served = await cache.serve("part", part)
    await cache.close()

    assert served.status is CacheStatus.BYPASS
    assert around.dynamic and "part" in around.tags  # its tags handed up; not to be stored
