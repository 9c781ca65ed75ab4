"""The store that keeps nothing (``CACHE_URL=off``): every answer is rendered.

It is what a cached answer is checked against: the same app over the same
database with this store renders every URL fresh, so any difference from a
cached answer is a stale one (``tests/test_fresh.py``, the oracle).

Everything else works as with any store: renders run in their scopes and
collect their tags (a live fragment names them), a render is still one
flight per key in this process, and invalidations still reach the cache's
listeners (the event stream, so open pages refresh). Its answers say
``X-Cache: MISS``: each was rendered for the request that got it.
"""

from __future__ import annotations

from app.cache.entry import Entry, Freshness
from app.cache.store import LOCAL_LEASE, RemoteHandler


class OffStore:
    def __init__(self) -> None:
        # Nothing is stamped, but the clock moves with each bump as any store's
        # does: a read-after clock (a soft bump's) still names a later moment.
        self._clock = 0

    async def clock(self) -> int:
        return self._clock

    def mark(self) -> None:
        """No answer is ever fresh here, so none is given again (``Repeats``)."""

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        return None

    async def get_many(self, keys: list[str], now: float) -> list[tuple[Entry, Freshness] | None]:
        return [None] * len(keys)

    async def put(self, entry: Entry) -> bool:
        return False

    async def put_many(self, entries: list[Entry]) -> list[bool]:
        return [False] * len(entries)

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        self._clock += 1

    async def start(self) -> None:
        """Nothing to connect to."""

    def on_remote_invalidation(self, handler: RemoteHandler) -> None:
        """A store that keeps nothing hears no other process."""

    async def acquire(self, key: str) -> str | None:
        return LOCAL_LEASE

    async def release(self, key: str, token: str) -> None:
        """Nothing was leased."""

    async def leased(self, key: str) -> bool:
        return False

    def stats(self) -> tuple[int, int]:
        return 0, 0

    def stamp_count(self) -> int:
        return 0

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        return dict.fromkeys(tags, (0, 0))

    async def close(self) -> None:
        """Nothing is held."""
