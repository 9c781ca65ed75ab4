"""The invalidation channel: other processes' bumps heard, losses and silences noticed."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest

from app.cache import Cache, CacheStatus
from app.cache.redis import SILENCE_LIMIT, RedisStore
from harness.servers import RedisServer
from tests.cache.helpers import Clock, Counted, Renderer, listening_store, make_entry, two_processes


@pytest.fixture
async def caches(redis_server: RedisServer) -> AsyncIterator[tuple[Cache, Cache]]:
    async with two_processes(redis_server.url, Clock()) as pair:
        yield pair


@pytest.fixture
async def near(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    async with listening_store(redis_server.url + "?prefix=near&near=1") as store:
        yield store


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


async def test_missed_invalidations_reach_listeners_as_everything(
    redis_server: RedisServer, caches: tuple[Cache, Cache]
) -> None:
    a, _ = caches
    heard: list[frozenset[str]] = []
    resubscribed = asyncio.Event()

    def listen(tags: frozenset[str]) -> None:
        heard.append(tags)
        if tags == {"*"}:
            resubscribed.set()

    a.on_invalidate(listen)
    redis_server.stop()
    redis_server.start()
    await asyncio.wait_for(resubscribed.wait(), timeout=10)

    assert frozenset({"*"}) in heard


async def test_a_silent_channel_stops_the_near_copy_until_it_speaks_again(
    near: RedisStore, redis_server: RedisServer
) -> None:
    reads = Counted(near, "get")
    assert await near.put(make_entry("k", await near.clock()))
    lost = asyncio.Event()
    near.on_remote_invalidation(lambda tags: lost.set() if tags is None else None)
    # Its housekeeping would time out on the stopped Redis too: the silence alone is tested.
    near.channel.next_housekeeping = float("inf")
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)  # connections open, nothing said
    try:
        # Pings unanswered for SILENCE_LIMIT: a timed rule, the bound a near copy keeps.
        await asyncio.wait_for(lost.wait(), 2 * SILENCE_LIMIT + 0.5)
        assert not near.listening.is_set()
        assert near.near.get("k") is None
        assert near.mark() is None  # what this process has not heard, it cannot vouch for
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    await asyncio.wait_for(near.listening.wait(), 5)  # heard again: all assumed moved
    assert near.near.bytes == 0
    assert await near.get("k", 1.0) is not None and reads.calls == 1  # from Redis, exact


async def test_a_quiet_channel_is_pinged_and_the_store_kept_tidy(near: RedisStore) -> None:
    quiet_turns = asyncio.Event()
    calls = 0
    housekeeping = near.channel.housekeeping

    async def counted() -> None:
        nonlocal calls
        calls += 1
        await housekeeping()
        if calls == 2:
            quiet_turns.set()

    near.channel.housekeeping = counted  # type: ignore[method-assign]
    await asyncio.wait_for(quiet_turns.wait(), 5)  # two quiet turns: pinged, answered

    assert near.listening.is_set()  # its pongs keep it heard
    assert near.stats()[1] > 0  # refreshed on the first turn (not again on the second)
