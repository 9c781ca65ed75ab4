"""The Redis store, against real private redis-server processes.

Two ``Cache`` objects over two ``RedisStore`` clients of one server stand for
two processes (or hosts): they share nothing but Redis.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.cache import Cache, CacheStatus, Entry, Freshness, create_store, engine
from app.cache import redis as redis_module
from app.cache.encoding import compress
from app.cache.errors import StoreUnavailable
from app.cache.redis import SILENCE_LIMIT, NearCopy, RedisStore
from harness.servers import RedisServer
from tests.cache.helpers import Clock, Renderer


@pytest.fixture
def server(redis_server: RedisServer) -> RedisServer:
    return redis_server  # tests/conftest.py starts it


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def caches(server: RedisServer, clock: Clock) -> AsyncIterator[tuple[Cache, Cache]]:
    """Two 'processes' sharing one Redis."""
    pair = (
        Cache(RedisStore(server.url, retry_after=0), now=clock),
        Cache(RedisStore(server.url, retry_after=0), now=clock),
    )
    for cache in pair:
        await cache.start()
    yield pair
    for cache in pair:
        await cache.close()


def entry(key: str, snapshot: int, tags: tuple[str, ...] = ("t",), **kw: object) -> Entry:
    return Entry(
        key=key, body=b"body", tags=frozenset(tags), snapshot=snapshot, created_at=0.0, **kw
    )  # type: ignore[arg-type]


async def test_store_round_trip_and_compare_on_write(server: RedisServer) -> None:
    store = RedisStore(server.url + "?prefix=rt")
    try:
        snapshot = await store.clock()
        assert await store.put(entry("k", snapshot, revalidate=5.0))
        found = await store.get("k", 1.0)
        assert found is not None
        stored, freshness = found
        assert (stored.body, stored.tags, stored.snapshot) == (b"body", {"t"}, snapshot)
        assert stored.etag == entry("k", snapshot).etag and stored.revalidate == 5.0
        assert freshness is Freshness.FRESH
        assert (await store.get("k", 5.0))[1] is Freshness.STALE  # type: ignore[index]

        await store.bump(frozenset({"t"}))
        assert await store.get("k", 1.0) is None
        assert not await store.put(entry("k", snapshot))  # its tag moved since
        assert await store.put(entry("k", await store.clock()))
        await store.bump(frozenset({"t"}), stale=True)
        assert (await store.get("k", 1.0))[1] is Freshness.STALE  # type: ignore[index]
        assert await store.get("missing", 1.0) is None
        assert await store.put(entry("untagged", await store.clock(), tags=()))
    finally:
        await store.close()


async def test_an_entry_a_hard_bump_expired_stays_in_redis(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first read after a write is a miss: the old page must not cross the
    network to be thrown away (it did, whole, up to three times a miss)."""
    built: list[str] = []
    entry_from = redis_module._entry_from
    monkeypatch.setattr(
        redis_module, "_entry_from", lambda key, *rest: built.append(key) or entry_from(key, *rest)
    )
    store = RedisStore(server.url + "?prefix=expired")
    try:
        snapshot = await store.clock()
        assert await store.put_many([entry("soft", snapshot, ("s",)), entry("hard", snapshot)])
        await store.bump(frozenset({"s"}), stale=True)
        await store.bump(frozenset({"t"}))
        found = await store.get_many(["soft", "hard"], 1.0)
    finally:
        await store.close()

    assert found[0] is not None and found[0][1] is Freshness.STALE and found[1] is None
    assert built == ["soft"]  # a stale body is still served once; an expired one never came


async def test_compressed_variants_survive_the_round_trip(server: RedisServer) -> None:
    store = RedisStore(server.url + "?prefix=enc")
    body = b"<p>a body worth compressing</p>" * 100
    try:
        made = Entry(
            key="k",
            body=body,
            tags=frozenset({"t"}),
            snapshot=await store.clock(),
            created_at=0.0,
            encoded=compress(body),
        )
        assert await store.put(made)
        found = await store.get("k", 1.0)
        assert found is not None
        assert (found[0].body, found[0].encoded, found[0].etag) == (body, made.encoded, made.etag)
    finally:
        await store.close()


async def test_many_entries_are_read_and_written_in_one_call(server: RedisServer) -> None:
    store = RedisStore(server.url + "?prefix=many")
    try:
        before = await store.clock()
        await store.bump(frozenset({"moved"}))
        stored = await store.put_many(
            [entry("a", before, ("kept",)), entry("b", before, ("moved",)), entry("c", before)]
        )
        found = await store.get_many(["a", "b", "c", "nothing"], 1.0)
    finally:
        await store.close()

    assert stored == [True, False, True]  # b's tag moved after its snapshot
    assert [hit[0].key if hit else None for hit in found] == ["a", None, "c", None]


async def test_clock_starts_at_wall_time_so_a_restart_refuses_older_snapshots(
    server: RedisServer,
) -> None:
    store = RedisStore(server.url)
    try:
        before_restart = await store.clock()
        for _ in range(3):
            await store.bump(frozenset({"t"}))
        straddling = entry("k", before_restart + 3)  # a snapshot 'from the future'
        server.stop()
        server.start()  # empty again: the clock restarts, at today's time
        restarted = await store.clock()
        assert restarted > before_restart
        # A snapshot above the current clock can only predate a restart: refused.
        assert not await store.put(entry("k", restarted + 1_000))
        assert await store.put(entry("k", restarted))
        assert straddling.snapshot < restarted
    finally:
        await store.close()


async def test_a_write_through_one_process_is_a_miss_in_the_other(
    caches: tuple[Cache, Cache],
) -> None:
    a, b = caches
    render = Renderer("tickets")
    heard = asyncio.Event()
    b.on_invalidate(lambda tags: heard.set() if "tickets" in tags else None)

    assert (await b.serve("list", render)).status is CacheStatus.MISS
    assert (await a.serve("list", render)).status is CacheStatus.HIT
    await a.revalidate_tag("tickets")
    await asyncio.wait_for(heard.wait(), timeout=5)  # B hears it over pub/sub
    after = await b.serve("list", render)

    assert (after.status, after.body) == (CacheStatus.MISS, b"v2")
    assert (await b.serve("list", render)).status is CacheStatus.HIT


async def test_64_readers_in_each_of_two_processes_render_once_in_all(
    caches: tuple[Cache, Cache],
) -> None:
    a, b = caches
    render = Renderer("tickets")
    render.gate = asyncio.Event()

    readers = [
        asyncio.create_task(cache.serve("list", render)) for cache in (a, b) for _ in range(64)
    ]
    await render.started.wait()
    while a.waiting + b.waiting < 126:  # 63 join in each process, one waits on the lease
        await asyncio.sleep(0)
    render.gate.set()
    served = await asyncio.gather(*readers)

    assert render.calls == 1
    assert [s.status for s in served].count(CacheStatus.MISS) == 1
    assert {s.body for s in served} == {b"v1"}


async def test_waiting_process_renders_itself_when_the_leaseholder_fails(
    caches: tuple[Cache, Cache],
) -> None:
    a, b = caches
    failing, working = Renderer("t"), Renderer("t", body="ok")
    failing.gate = asyncio.Event()
    failing.error = RuntimeError("render failed")

    first = asyncio.create_task(a.serve("k", failing))
    await failing.started.wait()
    second = asyncio.create_task(b.serve("k", working))
    while not b._inflight:  # B has found A's lease and is waiting on it
        await asyncio.sleep(0)
    failing.gate.set()

    with pytest.raises(RuntimeError):
        await first
    assert (await second).body == b"ok1"


async def test_redis_down_serves_uncached_and_recovers(
    server: RedisServer, caches: tuple[Cache, Cache], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = caches
    render = Renderer("t")
    await a.serve("k", render)
    server.stop()

    with caplog.at_level(logging.WARNING):
        down = await a.serve("k", render)
        again = await a.serve("k", render)
        await a.revalidate_tag("t")  # a write during the outage must not fail
    server.start()
    recovered = await a.serve("k", render)
    hit = await a.serve("k", render)

    assert (down.status, again.status) == (CacheStatus.BYPASS, CacheStatus.BYPASS)
    assert "cache store unavailable" in caplog.text
    assert "cache_store_errors_total" in a.metrics.render().decode()
    assert recovered.status is CacheStatus.MISS
    assert hit.status is CacheStatus.HIT


async def test_missed_invalidations_reach_listeners_as_everything(
    server: RedisServer, caches: tuple[Cache, Cache]
) -> None:
    a, _ = caches
    heard: list[frozenset[str]] = []
    resubscribed = asyncio.Event()

    def listen(tags: frozenset[str]) -> None:
        heard.append(tags)
        if tags == {"*"}:
            resubscribed.set()

    a.on_invalidate(listen)
    server.stop()
    server.start()
    await asyncio.wait_for(resubscribed.wait(), timeout=10)

    assert frozenset({"*"}) in heard


async def test_render_under_a_lease_in_a_dead_store_is_served_uncached(
    server: RedisServer, clock: Clock
) -> None:
    cache = Cache(RedisStore(server.url, retry_after=0), now=clock)
    render = Renderer("t")
    render.gate = asyncio.Event()
    try:
        reader = asyncio.create_task(cache.serve("k", render))
        await render.started.wait()  # it holds the lease and has read its data
        server.stop()
        render.gate.set()
        served = await reader
    finally:
        await cache.close()

    assert (served.status, served.body) == (CacheStatus.BYPASS, b"v1")


async def test_stats_report_the_server(server: RedisServer) -> None:
    store = RedisStore(server.url)
    try:
        await store.put(entry("k", await store.clock()))
        await store._refresh_stats()
        keys, used = store.stats()
    finally:
        await store.close()

    assert keys >= 2 and used > 0


async def test_after_a_failure_redis_is_left_alone_for_a_moment(server: RedisServer) -> None:
    store = create_store(server.url, max_bytes=1)  # the default pause: a second
    assert isinstance(store, RedisStore)
    try:
        server.stop()
        with pytest.raises(StoreUnavailable, match=r"redis: "):
            await store.clock()
        server.start()
        with pytest.raises(StoreUnavailable, match="redis is down; retrying shortly"):
            await store.clock()  # not even tried: no connection storm on a sick Redis
    finally:
        await store.close()


async def test_a_lease_held_too_long_is_not_waited_for_forever(
    server: RedisServer, caches: tuple[Cache, Cache], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = caches
    monkeypatch.setattr(engine, "LEASE_SECONDS", 0.05)
    assert await a.store.acquire("k") is not None  # a 'process' that hung mid-render
    render = Renderer("t")

    served = await a.serve("k", render)

    assert (served.status, served.body) == (CacheStatus.MISS, b"v1")
    assert await a.store.leased("k")  # we never took (nor released) its lease


async def test_a_waiter_takes_the_entry_as_soon_as_it_is_stored(
    caches: tuple[Cache, Cache],
) -> None:
    a, b = caches
    lease = await a.store.acquire("k")  # 'process A' is rendering k
    assert lease is not None
    render = Renderer("t")

    waiter = asyncio.create_task(b.serve("k", render))
    while not b._inflight:  # B found the lease and waits on it
        await asyncio.sleep(0)
    await a.store.put(Entry("k", b"from A", frozenset({"t"}), await a.store.clock(), 0.0))
    served = await waiter  # A still holds its lease: B needs no more than the entry
    await a.store.release("k", lease)

    assert (served.status, served.body) == (CacheStatus.HIT, b"from A")
    assert render.calls == 0


async def test_generations_share_invalidations_but_never_entries(server: RedisServer) -> None:
    """A deploy: old and new code on one Redis. Neither serves what the other's
    templates rendered; a write reaches both."""
    old = RedisStore(server.url + "?prefix=gen", generation="build-1")
    new = RedisStore(server.url + "?prefix=gen", generation="build-2")
    try:
        assert await old.put(entry("page", await old.clock()))
        assert await new.get("page", 1.0) is None  # the old templates' page
        assert await new.put(entry("page", await new.clock()))
        assert await old.acquire("page") is not None
        assert await new.acquire("page") is not None  # leases apart too

        await new.bump(frozenset({"t"}))

        assert await old.get("page", 1.0) is None
        assert await new.get("page", 1.0) is None
    finally:
        await old.close()
        await new.close()


async def test_stamps_older_than_any_entry_could_be_are_trimmed(server: RedisServer) -> None:
    store = RedisStore(server.url + "?prefix=trim")
    try:
        await store.bump(frozenset({"old-a", "old-b"}))
        await store.bump(frozenset({"old-c"}), stale=True)
        cutoff = int(await store.clock()) + 1
        await store.bump(frozenset({"new"}))
        assert int(await store.clock()) >= cutoff  # the clock follows the wall time

        gone = await store.trim_stamps(before=cutoff)
        assert await store.trim_stamps() == 0  # by default, only stamps a day old go

        assert gone == 3
        assert await store.client.hkeys("trim:expired") == [b"new"]
        assert await store.client.hlen("trim:stale") == 0
    finally:
        await store.close()


# -- the near copy (?near=1) ------------------------------------------------------------


class Counted:
    """Counts the round trips of one of a store's scripts."""

    def __init__(self, store: RedisStore, script: str) -> None:
        self.calls = 0
        original = store._scripts[script]

        def counted(**kw: Any) -> Any:
            self.calls += 1
            return original(**kw)

        store._scripts[script] = counted  # type: ignore[assignment]


@pytest.fixture
async def near(server: RedisServer) -> AsyncIterator[RedisStore]:
    store = RedisStore(server.url + "?prefix=near&near=1", retry_after=0)
    await store.start()
    await asyncio.wait_for(store.listening.wait(), 5)
    yield store
    await store.close()


async def test_a_near_copy_is_served_with_no_round_trip_until_a_bump_drops_it(
    near: RedisStore,
) -> None:
    reads = Counted(near, "get")
    assert await near.put(entry("k", await near.clock()))  # kept near as it is stored
    first = await near.get("k", 1.0)
    second = await near.get("k", 1.0)

    assert first is not None and second is not None and first[0] is second[0]
    assert reads.calls == 0  # no round trip: the very same entry, its answers ready
    mark = near.mark()
    await near.bump(frozenset({"t"}))
    assert await near.get("k", 1.0) is None and reads.calls == 1
    assert mark is not None and near.mark() not in (None, mark)  # answers kept at mark end


async def test_another_process_s_bump_drops_the_copy_once_heard(
    near: RedisStore, server: RedisServer
) -> None:
    other = RedisStore(server.url + "?prefix=near")
    heard = asyncio.Event()
    near.on_remote_invalidation(lambda tags: tags == frozenset({"t"}) and heard.set())
    try:
        assert await near.put(entry("k", await near.clock()))
        assert (await near.get("k", 1.0)) is not None
        mark = near.mark()
        await other.bump(frozenset({"t"}))
        await asyncio.wait_for(heard.wait(), 5)

        assert await near.get("k", 1.0) is None
        assert near.mark() != mark
    finally:
        await other.close()


async def test_a_silent_channel_stops_the_near_copy_until_it_speaks_again(
    near: RedisStore, server: RedisServer
) -> None:
    reads = Counted(near, "get")
    assert await near.put(entry("k", await near.clock()))
    lost = asyncio.Event()
    listening = near._listening

    def noticed(live: bool) -> None:
        listening(live)
        if not live:
            lost.set()

    near._listening = noticed  # type: ignore[method-assign]
    # Its housekeeping would time out on the stopped Redis too: the silence alone is tested.
    near._next_housekeeping = float("inf")
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)  # connections open, nothing said
    try:
        # Pings unanswered for SILENCE_LIMIT: a timed rule, the bound a near copy keeps.
        await asyncio.wait_for(lost.wait(), 2 * SILENCE_LIMIT + 0.5)
        assert near.near.get("k") is None
        assert near.mark() is None  # what this process has not heard, it cannot vouch for
    finally:
        server.process.send_signal(signal.SIGCONT)
    await asyncio.wait_for(near.listening.wait(), 5)  # heard again: all assumed moved
    assert near.near.bytes == 0
    assert await near.get("k", 1.0) is not None and reads.calls == 1  # from Redis, exact


async def test_a_read_that_finds_the_old_entry_while_our_bump_is_on_its_way_is_not_kept(
    near: RedisStore,
) -> None:
    assert await near.put(entry("k", await near.clock()))
    on_its_way, go_on = asyncio.Event(), asyncio.Event()
    original = near._scripts["bump"]

    async def held(**kw: Any) -> Any:  # the bump's round trip, held before it lands
        on_its_way.set()
        await go_on.wait()
        return await original(**kw)

    near._scripts["bump"] = held  # type: ignore[assignment]
    bump = asyncio.create_task(near.bump(frozenset({"t"})))
    await on_its_way.wait()  # the copy is dropped; Redis still holds the entry as fresh
    found = await near.get("k", 1.0)  # a read in that window: the old entry, kept near
    go_on.set()
    await bump

    assert found is not None  # concurrent with the write: the old body is allowed once
    assert near.near.get("k") is None  # but not kept past the bump
    assert await near.get("k", 1.0) is None


async def test_a_read_that_straddles_a_bump_is_not_kept(near: RedisStore) -> None:
    copy = near.near
    made = entry("k", 1)
    moves_seen = copy.moves
    copy.drop(frozenset({"other"}))  # any bump while the read was out
    copy.put(made, moves_seen)

    assert copy.get("k") is None
    copy.put(made, copy.moves)
    assert copy.get("k") is made


def test_the_near_copy_is_bounded_by_bytes_least_recent_first() -> None:
    size = entry("a", 1, tags=("a", "all")).size
    copy = NearCopy(max_bytes=size * 2)
    copy.live = True
    for key in ("a", "b"):
        copy.put(entry(key, 1, tags=(key, "all")), copy.moves)
    assert copy.get("a") is not None  # now the most recent
    copy.put(entry("c", 1, tags=("c", "all")), copy.moves)

    assert (copy.get("a") is not None, copy.get("b"), copy.get("c") is not None) == (
        True,
        None,
        True,
    )
    copy.put(entry("a", 2, tags=("a", "all")), copy.moves)  # replaced, counted once
    assert copy.bytes == size * 2
    copy.drop(frozenset({"all"}))
    assert copy.bytes == 0 and copy.get("a") is None


def test_without_near_in_the_url_nothing_is_kept() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    store.near.live = True
    store.near.put(entry("k", 1), store.near.moves)

    assert store.near.get("k") is None
    assert store.mark() is None  # only Redis knows: every read asks it


async def test_a_quiet_channel_is_pinged_and_the_store_kept_tidy(near: RedisStore) -> None:
    quiet_turns = asyncio.Event()
    calls = 0
    housekeeping = near._housekeeping

    async def counted() -> None:
        nonlocal calls
        calls += 1
        await housekeeping()
        if calls == 2:
            quiet_turns.set()

    near._housekeeping = counted  # type: ignore[method-assign]
    await asyncio.wait_for(quiet_turns.wait(), 5)  # two quiet turns: pinged, answered

    assert near.listening.is_set()  # its pongs keep it heard
    assert near.stats()[1] > 0  # refreshed on the first turn (not again on the second)


async def test_the_inspector_reads_tag_versions_and_who_made_an_entry(
    server: RedisServer,
) -> None:
    store = RedisStore(server.url + "?prefix=inspect")
    try:
        made = Entry(
            key="k", body=b"b", tags=frozenset({"a"}), snapshot=await store.clock(),
            created_at=0.0, made_by="host:1 #7",
        )  # fmt: skip
        assert await store.put(made)
        await store.bump(frozenset({"b"}), stale=True)
        stamps = await store.stamps(frozenset({"a", "b"}))
        found = await store.get("k", 1.0)
    finally:
        await store.close()

    assert stamps["a"] == (0, 0) and stamps["b"][0] == 0 and stamps["b"][1] > 0
    unused = RedisStore(server.url)
    try:
        assert await unused.stamps(frozenset()) == {}
    finally:
        await unused.close()
    assert found is not None and found[0].made_by == "host:1 #7"
