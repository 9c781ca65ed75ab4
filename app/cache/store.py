"""The store interface every backend implements.

Tag versions are values of one clock: ``bump`` advances the clock and stamps
the tag with it, so a snapshot is a single number and an entry is fresh while
every one of its tags carries a stamp no later than its snapshot.

Every method may raise ``StoreUnavailable``; the engine then serves uncached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.cache.entry import Entry, Freshness

# Called with the tags another process invalidated, or None when some may
# have been missed (the connection was lost): then assume everything moved.
RemoteHandler = Callable[[frozenset[str] | None], None]

LOCAL_LEASE = "local"


class InProcess:
    """What a store that lives in one process (or renders for it alone) says
    of the cluster: nothing to connect to, nothing heard from elsewhere, and
    no lease to take (single flight within the process is the engine's)."""

    async def start(self) -> None:
        """Nothing to connect to."""

    def on_remote_invalidation(self, handler: RemoteHandler) -> None:
        """No other process is heard."""

    async def acquire(self, key: str) -> str | None:
        return LOCAL_LEASE

    async def release(self, key: str, token: str) -> None:
        """Nothing was leased."""

    async def leased(self, key: str) -> bool:
        return False

    async def catch_up(self, clock: int) -> bool:
        """Every bump is made here: there is nothing else to hear."""
        return True


class Store(Protocol):
    async def clock(self) -> int:
        """The current clock; read it before a render reads any data."""

    def mark(self) -> int | None:
        """A number that changes whenever a stored entry may have stopped being
        fresh (a bump, here or heard from another process), read without a
        round trip; None when the store cannot tell that without one."""

    def heard(self) -> int:
        """A clock up to which every bump is in what this process reads (the
        bumps it made, and those of other processes it has heard of): what a
        fresh answer given now reflects at least. No round trip."""

    async def catch_up(self, clock: int) -> bool:
        """Whether every bump up to ``clock`` (a visitor's read-after clock) is in
        what this process reads, once it has heard of them: waits a little
        (bounded) for the news. False: nothing kept in this process is to be
        trusted for that visitor; read through."""

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        """The entry under ``key`` and whether it may be served (never EXPIRED)."""

    async def get_many(self, keys: list[str], now: float) -> list[tuple[Entry, Freshness] | None]:
        """``get`` of every key, in one round trip."""

    async def put(self, entry: Entry) -> bool:
        """Store ``entry`` unless its tags moved since its snapshot (or it is too big)."""

    async def put_many(self, entries: list[Entry]) -> list[bool]:
        """``put`` of every entry, in one round trip."""

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        """Invalidate every entry holding any of ``tags``: O(len(tags))."""

    async def start(self) -> None:
        """Connect and start listening to other processes' invalidations."""

    def on_remote_invalidation(self, handler: RemoteHandler) -> None:
        """Call ``handler`` for every invalidation another process applies."""

    async def acquire(self, key: str) -> str | None:
        """A lease to render ``key``, or None while another process holds it."""

    async def release(self, key: str, token: str) -> None: ...

    async def leased(self, key: str) -> bool:
        """Whether some process holds the render lease of ``key``."""

    def stats(self) -> tuple[int, int]:
        """(entries, bytes) currently held."""

    def stamp_count(self) -> int:
        """How many tag stamps are kept (they must not grow without bound)."""

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        """Each tag's last hard and soft bump (0: none kept): for the inspector."""

    async def close(self) -> None: ...
