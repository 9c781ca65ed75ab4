"""The store interface every backend implements.

Tag versions are values of one clock: ``bump`` advances the clock and stamps
the tag with it, so a snapshot is a single number and an entry is fresh while
every one of its tags carries a stamp no later than its snapshot.
"""

from __future__ import annotations

from typing import Protocol

from app.cache.entry import Entry, Freshness


class Store(Protocol):
    async def clock(self) -> int:
        """The current clock; read it before a render reads any data."""

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        """The entry under ``key`` and whether it may be served."""

    async def put(self, entry: Entry) -> bool:
        """Store ``entry`` unless its tags moved since its snapshot (or it is too big)."""

    async def bump(self, tags: frozenset[str], *, stale: bool = False) -> None:
        """Invalidate every entry holding any of ``tags``: O(len(tags))."""

    def stats(self) -> tuple[int, int]:
        """(entries, bytes) currently held."""

    async def close(self) -> None: ...
