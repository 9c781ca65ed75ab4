"""The in-memory store: byte bound, LRU order, tag stamps."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest

from app.cache import Entry, Freshness, MemoryStore
from app.cache.encoding import compress
from app.cache.memory import FREE_STAMPS_OVER
from app.cache.store import Put


def entry(key: str, body: bytes = b"x", tags: tuple[str, ...] = ("t",), snapshot: int = 0) -> Entry:
    return Entry(key=key, body=body, tags=frozenset(tags), snapshot=snapshot, created_at=0.0)


async def test_never_grows_past_its_byte_bound() -> None:
    store = MemoryStore(max_bytes=100_000)
    for i in range(5_000):
        assert await store.put(entry(f"k{i}", body=b"y" * (i % 700)))
        entries, size, _bound = store.stats()
        assert size <= store.max_bytes
    assert entries < 5_000  # it had to evict
    # the accounted size is the sum of what is held
    held = [await store.get(f"k{i}", 0.0) for i in range(5_000)]
    assert sum(found[0].size for found in held if found) == store.stats()[1]


async def test_evicts_the_least_recently_used() -> None:
    one = entry("a", b"1" * 100)
    store = MemoryStore(max_bytes=3 * one.size)
    for key in "abc":
        await store.put(entry(key, b"1" * 100))
    await store.get("a", 0.0)  # a is now the most recent

    await store.put(entry("d", b"1" * 100))

    assert await store.get("b", 0.0) is None
    assert await store.get("a", 0.0) is not None


async def test_an_entry_larger_than_the_bound_is_not_stored() -> None:
    store = MemoryStore(max_bytes=1_000)

    stored = await store.put(entry("big", b"z" * 1_000))

    assert stored is Put.TOO_BIG
    assert store.stats()[:2] == (0, 0)


async def test_replacing_a_key_accounts_its_bytes_once() -> None:
    store = MemoryStore(max_bytes=10_000)
    await store.put(entry("k", b"1" * 10))
    await store.put(entry("k", b"1" * 20))

    assert store.stats()[:2] == (1, entry("k", b"1" * 20).size)
    assert entry("k", b"1" * 20).size - entry("k", b"1" * 10).size == 10


async def test_bump_expires_or_stales_entries_holding_the_tag() -> None:
    store = MemoryStore(max_bytes=10_000)
    await store.put(entry("hard", tags=("a",)))
    await store.put(entry("soft", tags=("b",)))
    await store.put(entry("other", tags=("c",)))

    await store.bump(frozenset({"a"}))
    await store.bump(frozenset({"b"}), soft=True)

    assert await store.get("hard", 0.0) is None
    assert (await store.get("soft", 0.0))[1] is Freshness.STALE  # type: ignore[index]
    assert (await store.get("other", 0.0))[1] is Freshness.FRESH  # type: ignore[index]
    assert store.stats()[0] == 2  # the expired one was freed on read


async def test_refuses_an_entry_whose_tags_moved_after_its_snapshot() -> None:
    store = MemoryStore(max_bytes=10_000)
    snapshot = await store.clock()
    await store.bump(frozenset({"t"}))

    assert await store.put(entry("late", snapshot=snapshot)) is Put.MOVED
    assert await store.put(entry("now", snapshot=await store.clock())) is Put.KEPT


async def test_timed_entry_turns_stale_at_its_lifetime() -> None:
    store = MemoryStore(max_bytes=10_000)
    timed = Entry(key="k", body=b"", tags=frozenset(), snapshot=0, created_at=10.0, revalidate=5)
    await store.put(timed)

    assert (await store.get("k", 14.9))[1] is Freshness.FRESH  # type: ignore[index]
    assert (await store.get("k", 15.0))[1] is Freshness.STALE  # type: ignore[index]


def test_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes must be positive"):
        MemoryStore(max_bytes=0)


async def test_close_empties_it() -> None:
    store = MemoryStore(max_bytes=10_000)
    await store.put(entry("k"))
    await store.close()

    assert store.stats()[:2] == (0, 0)


async def test_stamps_of_tags_nothing_holds_are_freed_and_never_grow_without_bound() -> None:
    store = MemoryStore(max_bytes=1 << 20)
    assert await store.put(entry("kept", tags=("kept",), snapshot=await store.clock()))
    await store.bump(frozenset({"kept"}), soft=True)
    for n in range(3 * FREE_STAMPS_OVER):  # every write of a ticket that is then gone
        await store.bump(frozenset({f"ticket:{n}"}))

    assert store.stamp_count() <= FREE_STAMPS_OVER + 2
    found = await store.get("kept", 0.0)
    assert found is not None and found[1] is Freshness.STALE  # a held tag keeps its stamp


async def test_a_render_that_began_before_stamps_were_freed_is_not_stored() -> None:
    store = MemoryStore(max_bytes=1 << 20)
    early = await store.clock()  # a render reads its data...
    await store.bump(frozenset({"gone"}))  # ...the data changes, and the stamp is freed
    for n in range(FREE_STAMPS_OVER + 1):
        await store.bump(frozenset({f"other:{n}"}))
    late = await store.clock()

    assert not await store.put(entry("stale", tags=("gone",), snapshot=early))
    assert await store.put(entry("fresh", tags=("gone",), snapshot=late))


def row_entry(n: int, snapshot: int) -> Entry:
    """Like a list row: one tag, a kilobyte of HTML."""
    ticket = f"{n:08x}-0000-4000-8000-000000000000"
    body = f'<li id="ticket-{ticket}">'.encode() + b"x" * 900 + b"</li>"
    return Entry(
        key=f"fragment:ticket-row({ticket!r})",
        body=body,
        tags=frozenset({f"ticket:{ticket}"}),
        snapshot=snapshot,
        created_at=0.0,
    )


def page_entry(n: int, snapshot: int) -> Entry:
    """Like a page: six tags, 50 kB of HTML and its compressed variants."""
    path = f"/tickets/{n:08x}-0000-4000-8000-000000000000"
    body = f"<html>{path}".encode() + b"<li>a row of the list</li>\n" * 1800
    tags = {"route:/tickets/{ticket_id}", "layout:/", "layout:/tickets"}
    tags |= {f"path:{path}", f"layout:{path}", f"ticket:{path[9:]}"}
    return Entry(
        key=f"{path}? page",
        body=body,
        tags=frozenset(tags),
        snapshot=snapshot,
        created_at=0.0,
        encoded=compress(body),
    )


@pytest.mark.parametrize(("make", "count"), [(row_entry, 5_000), (page_entry, 300)])
async def test_the_byte_bound_is_the_memory_the_entries_take(
    make: Callable[[int, int], Entry], count: int
) -> None:
    """What the store accounts is what Python allocates for the entries it holds
    (tracemalloc), within 15%: CACHE_MAX_BYTES bounds the process's cache."""
    store = MemoryStore(max_bytes=1 << 40)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(count):
            made = make(n, await store.clock())
            await store.put(made)
            assert await store.get(made.key, 0.0) is not None  # read: its stamps are cached
        del made
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert 0.85 < held / store.stats()[1] < 1.15
