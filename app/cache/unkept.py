"""``Unkept``: a view of a store that reads no entry and keeps none.

A verification (``app/cache/verify.py``) renders a page again as a MISS
would, fragments included, and must see none of what is stored (a stored
fragment would hide the very difference it looks for) nor leave anything
behind. Over this view, a second ``Cache`` goes through the ordinary render
path, collecting tags the ordinary way: every read misses, every put is
refused. The clock and the stamps are the real store's, so snapshots mean
what they mean there, and a bump (none is expected from a render) still
reaches it: an invalidation is never dropped.
"""

from __future__ import annotations

from app.cache.entry import Entry, Freshness
from app.cache.store import InProcess, Put, Store, StoreStats


class Unkept(InProcess):
    # InProcess: it takes no lease (a verification must not hold up, or wait
    # for, a real render) and starts nothing (the real store's cache does).
    def __init__(self, store: Store) -> None:
        self.store = store

    async def clock(self) -> int:
        return await self.store.clock()

    def mark(self) -> int | None:
        return None  # nothing is answered again from a verification

    def heard(self) -> int:
        return self.store.heard()

    async def catch_up(self, clock: int) -> bool:
        return await self.store.catch_up(clock)

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        return None

    async def get_many(self, keys: list[str], now: float) -> list[tuple[Entry, Freshness] | None]:
        return [None] * len(keys)

    async def put(self, entry: Entry) -> Put:
        return Put.UNKEPT

    async def put_many(self, entries: list[Entry]) -> list[Put]:
        return [Put.UNKEPT] * len(entries)

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        await self.store.bump(tags, soft=soft)

    def stats(self) -> StoreStats:
        return StoreStats(0, 0, 0)

    def stamp_count(self) -> int:
        return 0

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        return await self.store.stamps(tags)

    async def close(self) -> None:
        """The real store is closed by its own cache."""
