"""Helpers shared by the cache library's tests (test modules never import each other)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.cache import Cache, Entry, cache_tag
from app.cache.redis import RedisStore

# -- the engine's doubles: a clock and a render ---------------------------------------


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Renderer:
    """A render that counts its calls, tags itself and can be held at a gate."""

    def __init__(self, *tags: str, body: str = "v") -> None:
        self.tags = tags
        self.body = body
        self.calls = 0
        self.started = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        cache_tag(*self.tags)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"{self.body}{self.calls}"


# -- the Redis store (tests/cache/test_redis_*.py) ------------------------------------


def make_entry(key: str, snapshot: int, tags: tuple[str, ...] = ("t",), **kw: Any) -> Entry:
    return Entry(
        key=key, body=b"body", tags=frozenset(tags), snapshot=snapshot, created_at=0.0, **kw
    )


@asynccontextmanager
async def two_processes(url: str, clock: Clock) -> AsyncIterator[tuple[Cache, Cache]]:
    """Two ``Cache`` objects over two ``RedisStore`` clients of one server:
    two processes (or hosts) that share nothing but Redis."""
    pair = (
        Cache(RedisStore(url, retry_after=0), now=clock),
        Cache(RedisStore(url, retry_after=0), now=clock),
    )
    for cache in pair:
        await cache.start()
    try:
        yield pair
    finally:
        for cache in pair:
            await cache.close()


@asynccontextmanager
async def listening_store(url: str) -> AsyncIterator[RedisStore]:
    """A started store whose invalidation channel is heard (its near copy in use)."""
    store = RedisStore(url, retry_after=0)
    await store.start()
    try:
        await asyncio.wait_for(store.listening.wait(), 5)
        yield store
    finally:
        await store.close()


class Counted:
    """Counts the round trips of one of a store's scripts."""

    def __init__(self, store: RedisStore, script: str) -> None:
        self.calls = 0
        original = store._scripts[script]

        def counted(**kw: Any) -> Any:
            self.calls += 1
            return original(**kw)

        store._scripts[script] = counted  # type: ignore[assignment]
