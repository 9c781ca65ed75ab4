"""The connection to Redis: a dead or sick server costs uncached answers, never errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from app.cache import Cache, CacheStatus, create_store
from app.cache.errors import StoreUnavailable
from app.cache.redis import RedisStore
from harness.servers import RedisServer
from tests.cache.helpers import Clock, Renderer


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[Cache]:
    cache = Cache(RedisStore(redis_server.url, retry_after=0), now=Clock())
    await cache.start()
    yield cache
    await cache.close()


async def test_redis_down_serves_uncached_and_recovers(
    redis_server: RedisServer, cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    render = Renderer("t")
    await cache.serve("k", render)
    redis_server.stop()

    with caplog.at_level(logging.WARNING):
        down = await cache.serve("k", render)
        again = await cache.serve("k", render)
        await cache.revalidate_tag("t")  # a write during the outage must not fail
    redis_server.start()
    recovered = await cache.serve("k", render)
    hit = await cache.serve("k", render)

    assert (down.status, again.status) == (CacheStatus.BYPASS, CacheStatus.BYPASS)
    assert "cache store unavailable" in caplog.text
    assert "cache_store_errors_total" in cache.metrics.render().decode()
    assert recovered.status is CacheStatus.MISS
    assert hit.status is CacheStatus.HIT


async def test_render_under_a_lease_in_a_dead_store_is_served_uncached(
    redis_server: RedisServer,
) -> None:
    cache = Cache(RedisStore(redis_server.url, retry_after=0), now=Clock())
    render = Renderer("t")
    render.gate = asyncio.Event()
    try:
        reader = asyncio.create_task(cache.serve("k", render))
        await render.started.wait()  # it holds the lease and has read its data
        redis_server.stop()
        render.gate.set()
        served = await reader
    finally:
        await cache.close()

    assert (served.status, served.body) == (CacheStatus.BYPASS, b"v1")


async def test_after_a_failure_redis_is_left_alone_for_a_moment(
    redis_server: RedisServer,
) -> None:
    store = create_store(redis_server.url, max_bytes=1)  # the default pause: a second
    assert isinstance(store, RedisStore)
    try:
        redis_server.stop()
        with pytest.raises(StoreUnavailable, match=r"redis: "):
            await store.clock()
        redis_server.start()
        with pytest.raises(StoreUnavailable, match="redis is down; retrying shortly"):
            await store.clock()  # not even tried: no connection storm on a sick Redis
    finally:
        await store.close()
