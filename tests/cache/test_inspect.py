"""What a cache inspector reads: an entry, its tags' versions, its last miss."""

from __future__ import annotations

from app.cache import Cache, Freshness, MemoryStore, cache_tag
from app.cache.engine import MissNotes
from app.cache.inspect import inspect
from tests.cache.helpers import StoreThatFailsOneBump


async def test_an_entry_its_tags_and_why_it_was_last_rendered() -> None:
    cache = Cache(MemoryStore(1 << 20), now=lambda: 100.0)

    async def render() -> str:
        cache_tag("t")
        return "body"

    with cache.bound():
        await cache.serve("k", render, tags=["u"])
        await cache.revalidate_tag("u", stale=True)
        stale = await inspect(cache, "k")
        await cache.serve("k", render)  # stale: served once more, rendered again
        await cache.settle()
        await cache.revalidate_tag("t")
    gone = await inspect(cache, "k")

    assert stale.entry is not None and stale.freshness is Freshness.STALE
    assert stale.age == 0.0 and stale.entry.made_by.endswith("#1")
    assert [(s.tag, s.expired_at, s.stale_at > 0, s.moved) for s in stale.tags] == [
        ("t", 0, False, False),
        ("u", 0, True, True),
    ]
    assert stale.edge_keys == "t u"
    assert stale.last_miss == (100.0, MissNotes.ABSENT)
    assert gone.entry is None and gone.tags == [] and gone.last_miss == (100.0, MissNotes.STALE)


async def test_an_entry_a_bump_owed_here_made_stale_is_shown_gone() -> None:
    store = StoreThatFailsOneBump(1 << 20)
    cache = Cache(store)

    async def render() -> str:
        cache_tag("t")
        return "body"

    with cache.bound():
        await cache.serve("k", render)
        store.fail_next_bump = True
        await cache.revalidate_tag("t")  # owed: the store still holds the entry as fresh
    seen = await inspect(cache, "k")

    assert seen.entry is None  # as the next read finds it: the bump paid first
    assert cache.metrics.hits.value == 0  # a look, not a read


def test_miss_notes_keep_the_last_keys_only() -> None:
    notes = MissNotes()
    for n in range(MissNotes.MAX + 1):
        notes.note(f"k{n}", float(n), MissNotes.ABSENT)
    notes.note("k1", 5000.0, MissNotes.STALE)  # noted again: the most recent

    assert notes.of("k0") is None
    assert notes.of("k1") == (5000.0, MissNotes.STALE)
