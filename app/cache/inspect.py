"""What the cache holds under a key, and why: the data of a cache inspector."""

from __future__ import annotations

from dataclasses import dataclass

from app.cache.edge import edge_keys
from app.cache.engine import Cache
from app.cache.entry import Entry, Freshness


@dataclass(frozen=True)
class TagState:
    tag: str
    expired_at: int  # the store clock of its last hard bump (0: none kept)
    stale_at: int  # of its last soft bump
    moved: bool  # bumped after the entry's snapshot: it no longer serves as fresh


@dataclass(frozen=True)
class Inspection:
    key: str
    entry: Entry | None  # None: nothing servable is stored
    freshness: Freshness | None
    age: float | None  # seconds since its render began
    tags: list[TagState]
    last_miss: tuple[float, str] | None  # (when, why) it was last not served fresh
    edge_keys: str  # the keys an edge in front purges it by


async def inspect(cache: Cache, key: str) -> Inspection:
    now = cache.now()
    found = await cache.peek(key)
    last_miss = cache.misses.of(key)
    if found is None:
        return Inspection(key, None, None, None, [], last_miss, "")
    entry, freshness = found
    stamps = await cache.stamps(entry.tags)
    tags = [
        TagState(tag, expired, stale, max(expired, stale) > entry.snapshot)
        for tag, (expired, stale) in sorted(stamps.items())
    ]
    return Inspection(
        key, entry, freshness, now - entry.created_at, tags, last_miss, edge_keys(entry.tags)
    )
