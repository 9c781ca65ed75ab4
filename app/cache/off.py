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

from app.cache.memory import MemoryStore
from app.cache.unkept import Unkept


class OffStore(Unkept):
    """``Unkept`` over a store of its own that holds stamps only: its clock still
    moves with each bump, so a read-after clock (a soft bump's) names a later
    moment, and the inspector shows when a tag last moved."""

    def __init__(self) -> None:
        super().__init__(MemoryStore(max_bytes=1))  # it is never given an entry
