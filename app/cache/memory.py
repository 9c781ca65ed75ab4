"""The per-process store: an LRU bounded in bytes, and tag stamps in dicts.

Stamps of tags that no stored entry holds any more (a deleted ticket's) are
freed once they outnumber the held ones, so they cannot grow without bound.
Freeing one is safe for what is stored (nothing holds it) but not for a
render in flight that read the data before that bump: a missing stamp would
let it store a stale entry. So freeing raises a floor, and an entry whose
snapshot is below it is refused: such a render costs one more miss.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

from app.cache.entry import Entry, Freshness, freshness_of
from app.cache.store import InProcess, Put, StoreStats

# Stamps are freed when they pass twice the held tags plus this many.
FREE_STAMPS_OVER = 10_000


class MemoryStore(InProcess):
    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._clock = 0
        # tag -> clock value of its last bump, for each strength of invalidation
        self._expired_at: dict[str, int] = {}
        self._stale_at: dict[str, int] = {}
        self._held: Counter[str] = Counter()  # tag -> stored entries holding it
        self._floor = 0  # entries with a snapshot below it are refused (see above)
        # key -> (clock, latest stamps of its tags) as last worked out: until the
        # next bump they cannot change, so a HIT does not walk a page's tags again.
        self._checked: dict[str, tuple[int, int, int]] = {}

    async def clock(self) -> int:
        return self._clock

    def mark(self) -> int:
        return self._clock  # every bump, and every freeing of stamps, moves it

    def heard(self) -> int:
        return self._clock  # every bump is made here

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        freshness = self._freshness(entry, now)
        if freshness is Freshness.EXPIRED:
            self._remove(key)  # never servable again: free it now
            return None
        self._entries.move_to_end(key)
        return entry, freshness

    async def get_many(self, keys: list[str], now: float) -> list[tuple[Entry, Freshness] | None]:
        return [await self.get(key, now) for key in keys]

    async def put_many(self, entries: list[Entry]) -> list[Put]:
        return [await self.put(entry) for entry in entries]

    async def put(self, entry: Entry) -> Put:
        if entry.size > self.max_bytes:
            return Put.TOO_BIG
        if entry.snapshot < self._floor or self._moved_since(entry):
            return Put.MOVED  # below the floor: a stamp it needs may have been freed
        self._remove(entry.key)
        self._entries[entry.key] = entry
        self._bytes += entry.size
        self._held.update(entry.tags)
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)
        return Put.KEPT

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        self._clock += 1
        stamps = self._stale_at if soft else self._expired_at
        for tag in tags:
            stamps[tag] = self._clock
        if len(self._expired_at) + len(self._stale_at) > 2 * len(self._held) + FREE_STAMPS_OVER:
            self._free_stamps()

    def stats(self) -> StoreStats:
        return StoreStats(len(self._entries), self._bytes, self.max_bytes)

    async def close(self) -> None:
        self._entries.clear()
        self._checked.clear()
        self._held.clear()
        self._bytes = 0

    def _freshness(self, entry: Entry, now: float) -> Freshness:
        checked = self._checked.get(entry.key)
        if checked is not None and checked[0] == self._clock:
            return freshness_of(entry, checked[1], checked[2], now)
        expired_at, stale_at = self._latest_stamps(entry.tags)
        self._checked[entry.key] = (self._clock, expired_at, stale_at)
        return freshness_of(entry, expired_at, stale_at, now)

    def _moved_since(self, entry: Entry) -> bool:
        return max(self._latest_stamps(entry.tags)) > entry.snapshot

    def _latest_stamps(self, tags: frozenset[str]) -> tuple[int, int]:
        """The last hard and soft bump of any of ``tags`` (0: never bumped)."""
        expired_at, stale_at = self._expired_at, self._stale_at
        return (
            max([expired_at.get(tag, 0) for tag in tags], default=0),
            max([stale_at.get(tag, 0) for tag in tags], default=0),
        )

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        self._checked.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
            self._held.subtract(entry.tags)
            for tag in entry.tags:
                if self._held[tag] <= 0:
                    del self._held[tag]

    def _free_stamps(self) -> None:
        """Forget the stamps of tags nothing holds; refuse renders that began before."""
        for stamps in (self._expired_at, self._stale_at):
            for tag in [tag for tag in stamps if tag not in self._held]:
                del stamps[tag]
        self._clock += 1  # renders that start from now on read a snapshot at the floor
        self._floor = self._clock

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        return {tag: (self._expired_at.get(tag, 0), self._stale_at.get(tag, 0)) for tag in tags}

    def stamp_count(self) -> int:
        return len(self._expired_at) + len(self._stale_at)
