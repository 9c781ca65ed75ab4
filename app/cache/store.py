"""The store interface every backend implements.

Tag versions are values of one clock: ``bump`` advances the clock and stamps
the tag with it, so a snapshot is a single number and an entry is fresh while
every one of its tags carries a stamp no later than its snapshot.

Every method may raise ``StoreUnavailable``; the engine then serves uncached.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import NamedTuple, Protocol

from app.cache.entry import Entry, Freshness

# Called with the tags another process invalidated, or None when some may
# have been missed (the connection was lost): then assume everything moved.
RemoteHandler = Callable[[frozenset[str] | None], None]

LOCAL_LEASE = "local"


class Put(enum.Enum):
    """What a store did with an entry it was given: kept it, or why not.

    Truthy only when kept. A refused entry is still the answer of the request
    that rendered it, but nothing may keep it: not this store, and not an edge
    in front (``app/cache/answers.py``). ``MOVED`` is the one that matters for
    freshness: the render read data that a write replaced while it ran.
    """

    KEPT = "kept"
    MOVED = "moved"  # a tag was stamped after the snapshot (or the clock is not the snapshot's)
    TOO_BIG = "too big"  # larger than the store may hold
    UNKEPT = "unkept"  # a store that keeps nothing (CACHE_URL=off, a verification)
    STORE_DOWN = "store down"  # unreachable: stores raise StoreUnavailable, the engine says this

    def __bool__(self) -> bool:
        return self is Put.KEPT


class InProcess:
    """What a store that lives in one process (or renders for it alone) says
    of the cluster: nothing to connect to, nothing heard from elsewhere, no
    lease to take (single flight within the process is the engine's), no
    board to share figures on, and nothing that outlives the process."""

    board: Board | None = None
    shared = False

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


class StoreStats(NamedTuple):
    entries: int
    bytes: int
    bound: int  # the bytes it may hold before it evicts (0: no bound it knows of)


class Board(Protocol):
    """Where each process leaves its latest figures for the others
    (``app/cache/timeline.py``); raises ``StoreUnavailable``."""

    async def post(self, name: str, text: str, ttl_seconds: float) -> None: ...

    async def read(self) -> dict[str, str]:
        """Every live process's latest figures, by process name."""


class Store(Protocol):
    @property
    def board(self) -> Board | None:
        """Where processes share their figures; None: this process is all there is."""

    @property
    def shared(self) -> bool:
        """Whether other processes read what it keeps, and it outlives this one:
        then an entry's encodings are made once, with it, for all of them, and
        an invalidation this process owes must outlive it (the app's outbox)."""

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

    async def put(self, entry: Entry) -> Put:
        """Store ``entry`` unless its tags moved since its snapshot (or it is too
        big): ``Put.KEPT``, or why it was refused."""

    async def put_many(self, entries: list[Entry]) -> list[Put]:
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

    def stats(self) -> StoreStats:
        """Entries and bytes currently held, and the bound on the bytes."""

    def stamp_count(self) -> int:
        """How many tag stamps are kept (they must not grow without bound)."""

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        """Each tag's last hard and soft bump (0: none kept): for the inspector."""

    async def close(self) -> None: ...
