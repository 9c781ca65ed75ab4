"""How far a process has heard the invalidation channel (``app/cache/redis/heard.py``):
every bump carries its clock, a subscription syncs, and a read waits, a little,
for the bump its visitor's read-after clock names."""

from __future__ import annotations

import asyncio

from app.cache.redis import RedisStore
from app.cache.redis.heard import Heard
from harness.servers import RedisServer
from tests.cache.helpers import hold_channel, listening_store, make_entry


async def test_each_read_wakes_once_the_clock_it_waits_for_is_heard() -> None:
    heard = Heard()
    early = asyncio.create_task(heard.reach(5, timeout=5))
    late = asyncio.create_task(heard.reach(10, timeout=5))
    await asyncio.sleep(0)  # both waiting

    heard.advance(7)
    assert await early is True and not late.done()
    heard.advance(3)  # older news moves nothing back
    assert heard.clock == 7
    heard.advance(10)
    assert await late is True
    assert await heard.reach(9, timeout=0) is True  # heard already: no wait


async def test_a_read_not_heard_in_time_gives_up_and_leaves_no_waiter() -> None:
    heard = Heard()
    assert await heard.reach(5, timeout=0.01) is False
    cancelled = asyncio.create_task(heard.reach(5, timeout=5))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)

    assert heard._waiting == []
    heard.advance(5)  # nobody left to wake


async def test_every_process_hears_each_bump_with_its_clock(redis_server: RedisServer) -> None:
    url = redis_server.url + "?prefix=heard"
    async with listening_store(url) as writer, listening_store(url) as reader:
        await writer.bump(frozenset({"t"}))
        wrote_at = await writer.clock()

        assert await reader.catch_up(wrote_at)  # once its message is handled
        assert reader.heard() >= wrote_at
        assert await writer.catch_up(wrote_at)  # our own message comes back too


async def test_a_process_that_subscribes_after_a_bump_has_heard_it(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url + "?prefix=heard"
    async with listening_store(url) as writer:
        await writer.bump(frozenset({"t"}))
        wrote_at = await writer.clock()
        async with listening_store(url) as newcomer:
            # It never got that bump's message: its sync message says the same.
            assert await newcomer.catch_up(wrote_at)
            assert newcomer.heard() >= wrote_at


async def test_a_near_copy_older_than_a_read_after_clock_is_not_used(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url + "?prefix=heard"
    async with listening_store(url + "&near=1") as reader, listening_store(url) as writer:
        assert await reader.put(make_entry("k", await reader.clock()))
        held = hold_channel(reader)  # the news of the write is on its way
        await writer.bump(frozenset({"t"}))
        wrote_at = await writer.clock()

        assert await reader.catch_up(wrote_at) is False  # not heard in time: read through
        assert reader.near.get("k") is not None  # the copy that would have been served
        await held.until_arrived()
        held.release.set()
        assert await reader.catch_up(wrote_at) is True
        assert reader.near.get("k") is None


async def test_without_its_channel_a_process_catches_up_with_nothing(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url + "?prefix=heard&near=1")  # never started
    try:
        assert await store.catch_up(1) is False
        assert store.heard() == 0
    finally:
        await store.close()
