"""The Redis store: entries, stamps and leases, against private redis-server processes.

Two ``Cache`` objects over two ``RedisStore`` clients of one server stand for
two processes (or hosts): they share nothing but Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.cache import Cache, CacheStatus, Entry, Freshness, flight
from app.cache.redis import RedisStore, codec
from app.cache.store import Put
from harness.servers import RedisServer
from tests.cache.helpers import Clock, Renderer, make_entry, two_processes


@pytest.fixture
async def caches(redis_server: RedisServer) -> AsyncIterator[tuple[Cache, Cache]]:
    async with two_processes(redis_server.url, Clock()) as pair:
        yield pair


async def test_store_round_trip_and_compare_on_write(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url + "?prefix=rt")
    try:
        snapshot = await store.clock()
        assert await store.put(make_entry("k", snapshot, revalidate=5.0))
        found = await store.get("k", 1.0)
        assert found is not None
        stored, freshness = found
        assert (stored.body, stored.tags, stored.snapshot) == (b"body", {"t"}, snapshot)
        assert stored.etag == make_entry("k", snapshot).etag and stored.revalidate == 5.0
        assert freshness is Freshness.FRESH
        assert (await store.get("k", 5.0))[1] is Freshness.STALE  # type: ignore[index]

        await store.bump(frozenset({"t"}))
        assert await store.get("k", 1.0) is None
        assert not await store.put(make_entry("k", snapshot))  # its tag moved since
        assert await store.put(make_entry("k", await store.clock()))
        await store.bump(frozenset({"t"}), soft=True)
        assert (await store.get("k", 1.0))[1] is Freshness.STALE  # type: ignore[index]
        assert await store.get("missing", 1.0) is None
        assert await store.put(make_entry("untagged", await store.clock(), tags=()))
    finally:
        await store.close()


async def test_an_entry_a_hard_bump_expired_stays_in_redis(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first read after a write is a miss: the old page must not cross the
    network to be thrown away."""
    built: list[str] = []
    decode = codec.decode
    monkeypatch.setattr(codec, "decode", lambda key, *rest: built.append(key) or decode(key, *rest))
    store = RedisStore(redis_server.url + "?prefix=expired")
    try:
        snapshot = await store.clock()
        assert await store.put_many(
            [make_entry("soft", snapshot, ("s",)), make_entry("hard", snapshot)]
        )
        await store.bump(frozenset({"s"}), soft=True)
        await store.bump(frozenset({"t"}))
        found = await store.get_many(["soft", "hard"], 1.0)
    finally:
        await store.close()

    assert found[0] is not None and found[0][1] is Freshness.STALE and found[1] is None
    assert built == ["soft"]  # a stale body is still served once; an expired one never came


async def test_many_entries_are_read_and_written_in_one_call(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url + "?prefix=many")
    try:
        before = await store.clock()
        await store.bump(frozenset({"moved"}))
        stored = await store.put_many(
            [
                make_entry("a", before, ("kept",)),
                make_entry("b", before, ("moved",)),
                make_entry("c", before),
            ]
        )
        found = await store.get_many(["a", "b", "c", "nothing"], 1.0)
    finally:
        await store.close()

    assert stored == [Put.KEPT, Put.MOVED, Put.KEPT]  # b's tag moved after its snapshot
    assert [hit[0].key if hit else None for hit in found] == ["a", None, "c", None]


async def test_clock_starts_at_wall_time_so_a_restart_refuses_older_snapshots(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url)
    try:
        before_restart = await store.clock()
        for _ in range(3):
            await store.bump(frozenset({"t"}))
        straddling = make_entry("k", before_restart + 3)  # a snapshot 'from the future'
        redis_server.stop()
        redis_server.start()  # empty again: the clock restarts, at today's time
        restarted = await store.clock()
        assert restarted > before_restart
        # A snapshot above the current clock can only predate a restart: refused.
        assert not await store.put(make_entry("k", restarted + 1_000))
        assert await store.put(make_entry("k", restarted))
        assert straddling.snapshot < restarted
    finally:
        await store.close()


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
    while not b.renders.inflight:  # B has found A's lease and is waiting on it
        await asyncio.sleep(0)
    failing.gate.set()

    with pytest.raises(RuntimeError):
        await first
    assert (await second).body == b"ok1"


async def test_a_render_that_raises_lets_its_lease_go_and_the_waiter_renders_at_once(
    caches: tuple[Cache, Cache],
) -> None:
    a, b = caches
    failing, working = Renderer("t"), Renderer("t", body="ok")
    failing.gate = asyncio.Event()
    failing.error = RuntimeError("render failed")

    first = asyncio.create_task(a.serve("k", failing))
    await failing.started.wait()
    second = asyncio.create_task(b.serve("k", working))
    while not b.renders.inflight:  # B has found A's lease and is waiting on it
        await asyncio.sleep(0)
    failing.gate.set()
    with pytest.raises(RuntimeError):
        await first
    released = not await a.store.leased("k")  # read before B can take a lease of its own

    # Bounded well under the lease's own end (LEASE_SECONDS): B saw the lease go.
    served = await asyncio.wait_for(second, flight.LEASE_SECONDS / 5)
    assert released
    assert served.body == b"ok1" and not await a.store.leased("k")


async def test_a_lease_held_too_long_is_not_waited_for_forever(
    caches: tuple[Cache, Cache], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = caches
    monkeypatch.setattr(flight, "LEASE_SECONDS", 0.05)
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
    while not b.renders.inflight:  # B found the lease and waits on it
        await asyncio.sleep(0)
    await a.store.put(Entry("k", b"from A", frozenset({"t"}), await a.store.clock(), 0.0))
    served = await waiter  # A still holds its lease: B needs no more than the entry
    await a.store.release("k", lease)

    assert (served.status, served.body) == (CacheStatus.HIT, b"from A")
    assert render.calls == 0


async def test_generations_share_invalidations_but_never_entries(
    redis_server: RedisServer,
) -> None:
    """A deploy: old and new code on one Redis. Neither serves what the other's
    templates rendered; a write reaches both."""
    old = RedisStore(redis_server.url + "?prefix=gen", generation="build-1")
    new = RedisStore(redis_server.url + "?prefix=gen", generation="build-2")
    try:
        assert await old.put(make_entry("page", await old.clock()))
        assert await new.get("page", 1.0) is None  # the old templates' page
        assert await new.put(make_entry("page", await new.clock()))
        assert await old.acquire("page") is not None
        assert await new.acquire("page") is not None  # leases apart too

        await new.bump(frozenset({"t"}))

        assert await old.get("page", 1.0) is None
        assert await new.get("page", 1.0) is None
    finally:
        await old.close()
        await new.close()


async def test_stats_report_the_server(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url)
    try:
        await store.put(make_entry("k", await store.clock()))
        await store.refresh_stats()
        keys, used, bound = store.stats()
    finally:
        await store.close()

    assert keys >= 2 and used > 0 and bound == 64 << 20  # its --maxmemory


async def test_stamps_older_than_any_entry_could_be_are_trimmed(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url + "?prefix=trim")
    try:
        await store.bump(frozenset({"old-a", "old-b"}))
        await store.bump(frozenset({"old-c"}), soft=True)
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


async def test_the_inspector_reads_tag_versions_and_who_made_an_entry(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url + "?prefix=inspect")
    try:
        made = Entry(
            key="k", body=b"b", tags=frozenset({"a"}), snapshot=await store.clock(),
            created_at=0.0, made_by="host:1 #7",
        )  # fmt: skip
        assert await store.put(made)
        await store.bump(frozenset({"b"}), soft=True)
        stamps = await store.stamps(frozenset({"a", "b"}))
        found = await store.get("k", 1.0)
    finally:
        await store.close()

    assert stamps["a"] == (0, 0) and stamps["b"][0] == 0 and stamps["b"][1] > 0
    unused = RedisStore(redis_server.url)
    try:
        assert await unused.stamps(frozenset()) == {}
    finally:
        await unused.close()
    assert found is not None and found[0].made_by == "host:1 #7"
