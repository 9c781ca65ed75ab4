"""Unkept: the view of a store a verification renders over, which reads and keeps no entry."""

from __future__ import annotations

from app.cache import MemoryStore
from app.cache.entry import Freshness
from app.cache.store import LOCAL_LEASE, Put
from app.cache.unkept import Unkept
from tests.cache.helpers import make_entry


async def test_it_reads_no_entry_and_keeps_none() -> None:
    store = MemoryStore(1 << 20)
    await store.put(make_entry("held", 0))
    view = Unkept(store)

    assert await view.get("held", 0.0) is None
    assert await view.get_many(["held", "held"], 0.0) == [None, None]
    assert await view.put(make_entry("new", 0)) is Put.UNKEPT
    assert await view.put_many([make_entry("new", 0)]) == [Put.UNKEPT]
    assert await store.get("new", 0.0) is None
    assert view.stats()[:2] == (0, 0) and view.stamp_count() == 0 and view.mark() is None
    assert await view.acquire("held") == LOCAL_LEASE and not await view.leased("held")
    await view.release("held", LOCAL_LEASE)


async def test_its_clock_stamps_and_bumps_are_the_stores() -> None:
    store = MemoryStore(1 << 20)
    await store.put(make_entry("held", 0))
    view = Unkept(store)

    await view.bump(frozenset({"t"}), soft=True)
    await view.close()  # leaves the store open: its own cache closes it

    assert await view.clock() == await store.clock() == 1
    assert await view.stamps(frozenset({"t"})) == {"t": (0, 1)}
    found = await store.get("held", 0.0)
    assert found is not None and found[1] is Freshness.STALE
