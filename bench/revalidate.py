"""In-process timing of ``Cache.revalidate_tag`` with 1,000 and 100,000 entries.

Tags are versions, not key lists, so a bump should cost the same whatever the
number of entries; the ratio of the two timings says whether it does.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from app.cache import Cache, Entry, MemoryStore


@dataclass(frozen=True)
class Revalidate:
    entries: int
    us_per_call: float


async def _filled(entries: int) -> Cache:
    store = MemoryStore(max_bytes=1 << 34)
    snapshot = await store.clock()
    for i in range(entries):
        await store.put(
            Entry(
                key=f"/tickets/{i}? page",
                body=f"<li>ticket {i}</li>".encode(),
                tags=frozenset({"tickets", f"ticket:{i}"}),
                snapshot=snapshot,
                created_at=0.0,
            )
        )
    if store.stats()[0] != entries:
        raise RuntimeError(f"store holds {store.stats()[0]} entries, expected {entries}")
    return Cache(store)


async def _time(cache: Cache, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await cache.revalidate_tag("tickets")
    return (time.perf_counter() - start) / calls * 1e6


async def _measure(sizes: tuple[int, ...], calls: int, rounds: int) -> list[Revalidate]:
    caches = [await _filled(size) for size in sizes]
    best = [float("inf")] * len(sizes)
    # Interleave the sizes and keep each one's best round, so a burst of noise
    # from the shared machine cannot land on one size only.
    for _ in range(rounds):
        for index, cache in enumerate(caches):
            best[index] = min(best[index], await _time(cache, calls // rounds))
    for cache in caches:
        # The bumps must really have expired the entries, or we timed nothing.
        if await cache.store.get("/tickets/0? page", 0.0) is not None:
            raise RuntimeError("revalidate_tag('tickets') left an entry fresh")
    return [Revalidate(size, us) for size, us in zip(sizes, best, strict=True)]


def measure(
    sizes: tuple[int, ...] = (1_000, 100_000), *, calls: int = 10_000, rounds: int = 5
) -> list[Revalidate]:
    return asyncio.run(_measure(sizes, calls, rounds))
