"""The engine: single-flight, snapshots, nesting, modes, transactions.

Interleavings are forced with events. asyncio runs ready tasks in the order
they were scheduled, so tasks created together all reach their first await
before a render task created by the first of them starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from app.cache import (
    Cache,
    CacheStatus,
    Commit,
    Edge,
    Freshness,
    MemoryStore,
    NoActiveCache,
    OffStore,
    RevalidateDuringRender,
    cache_tag,
    collected_tags,
    fragment,
    fragments,
    is_rendering,
    revalidate_path,
    revalidate_tag,
)
from app.cache.context import Binding
from app.cache.entry import Entry
from app.cache.errors import StoreUnavailable
from app.cache.served import Found
from tests.cache.helpers import Clock, Renderer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> Cache:
    return Cache(MemoryStore(max_bytes=1 << 20), now=clock)


async def test_miss_then_hit(cache: Cache) -> None:
    render = Renderer("t")

    first = await cache.serve("k", render)
    second = await cache.serve("k", render)

    assert (first.status, first.body) == (CacheStatus.MISS, b"v1")
    assert (second.status, second.body) == (CacheStatus.HIT, b"v1")
    assert render.calls == 1


async def test_64_concurrent_misses_render_once_and_only_one_is_a_miss(cache: Cache) -> None:
    render = Renderer("t")
    render.gate = asyncio.Event()

    readers = [asyncio.create_task(cache.serve("k", render)) for _ in range(64)]
    await render.started.wait()
    assert cache.waiting == 63  # every other reader joined before the render ran
    render.gate.set()
    served = await asyncio.gather(*readers)

    assert render.calls == 1
    assert [s.status for s in served].count(CacheStatus.MISS) == 1
    assert [s.status for s in served].count(CacheStatus.HIT) == 63
    assert {s.body for s in served} == {b"v1"}


async def test_render_overlapping_an_invalidation_is_not_stored(cache: Cache) -> None:
    render = Renderer("t")
    render.gate = asyncio.Event()

    reader = asyncio.create_task(cache.serve("k", render))
    await render.started.wait()  # it has snapshotted and read its data
    await cache.revalidate_tag("t")
    render.gate.set()
    overlapped = await reader
    after = await cache.serve("k", render)

    assert overlapped.body == b"v1"
    assert (after.status, after.body) == (CacheStatus.MISS, b"v2")


async def test_a_render_that_raises_is_not_stored_and_waiters_get_the_error(
    cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    render = Renderer("t")
    render.gate = asyncio.Event()
    render.error = RuntimeError("database down")

    readers = [asyncio.create_task(cache.serve("k", render)) for _ in range(3)]
    await render.started.wait()
    render.gate.set()
    results = await asyncio.gather(*readers, return_exceptions=True)
    render.error = None
    retry = await cache.serve("k", render)

    assert all(isinstance(r, RuntimeError) for r in results)
    assert retry.status is CacheStatus.MISS
    assert "render of 'k' failed" in caplog.text


async def test_a_cancelled_leader_does_not_cancel_the_render_for_the_others(
    cache: Cache,
) -> None:
    render = Renderer("t")
    render.gate = asyncio.Event()

    leader = asyncio.create_task(cache.serve("k", render))
    follower = asyncio.create_task(cache.serve("k", render))
    await render.started.wait()
    leader.cancel()
    render.gate.set()

    assert (await follower).body == b"v1"
    assert leader.cancelled()
    assert (await cache.serve("k", render)).status is CacheStatus.HIT


async def test_nested_fragment_hands_its_tags_to_the_page(cache: Cache) -> None:
    inner = Renderer("inner-data")

    async def page() -> str:
        cache_tag("page-data")
        return "page[" + await fragment("part", inner, 7) + "]"

    with cache.bound():
        first = await cache.serve("page", page)
        await cache.revalidate_tag("inner-data")
        after = await cache.serve("page", page)
        hit = await cache.serve("page", page)

    assert first.body == b"page[v1]"
    assert first.entry is not None and "inner-data" in first.entry.tags
    assert (after.status, after.body) == (CacheStatus.MISS, b"page[v2]")
    assert hit.status is CacheStatus.HIT


async def test_a_cached_fragment_inside_a_new_page_does_not_age_it(cache: Cache) -> None:
    """A fragment HIT with an old snapshot must not make the page look stale."""
    shared = Renderer("shared")

    async def page() -> str:
        cache_tag("page-data")
        return await fragment("shared", shared)

    with cache.bound():
        await fragment("shared", shared)  # cached long before the page
        await cache.revalidate_tag("page-data")
        first = await cache.serve("page", page)
        second = await cache.serve("page", page)

    assert first.status is CacheStatus.MISS
    assert second.status is CacheStatus.HIT


async def test_path_tags_of_a_fragment_stay_with_its_first_request(cache: Cache) -> None:
    part = Renderer("data")

    async def page() -> str:
        return await fragment("part", part)

    with cache.bound(Binding(path_tags=("path:/a",))):
        await cache.serve("a", page)
    with cache.bound(Binding(path_tags=("path:/b",))):
        await cache.serve("b", page)
        await cache.revalidate_path("/a")
        b = await cache.serve("b", page)

    assert b.status is CacheStatus.HIT


async def test_timed_entry_serves_stale_once_and_refreshes_in_the_background(
    cache: Cache, clock: Clock
) -> None:
    render = Renderer("t")
    await cache.serve("k", render, revalidate=30)
    clock.now += 30
    render.gate = asyncio.Event()

    stale = await cache.serve("k", render, revalidate=30)
    also_stale = await cache.serve("k", render, revalidate=30)  # refresh still in flight
    render.gate.set()
    await cache.settle()
    fresh = await cache.serve("k", render, revalidate=30)

    assert (stale.status, stale.body) == (CacheStatus.STALE, b"v1")
    assert also_stale.status is CacheStatus.STALE
    assert render.calls == 2  # one background render for both stale reads
    assert (fresh.status, fresh.body) == (CacheStatus.HIT, b"v2")


async def test_failed_background_render_keeps_the_old_body_and_is_retried(
    cache: Cache, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    render = Renderer("t")
    await cache.serve("k", render, revalidate=10)
    clock.now += 11
    render.error = RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        stale = await cache.serve("k", render, revalidate=10)
        await cache.settle()
    render.error = None
    clock.now += 1.1  # past the back-off after a failure
    retried = await cache.serve("k", render, revalidate=10)
    await cache.settle()

    assert stale.body == b"v1"
    assert "render of 'k' failed" in caplog.text
    assert (retried.status, retried.body) == (CacheStatus.STALE, b"v1")
    assert (await cache.serve("k", render, revalidate=10)).body == b"v3"


async def test_soft_invalidation_serves_the_old_body_once_then_the_new(cache: Cache) -> None:
    render = Renderer("t")
    await cache.serve("k", render)

    await cache.revalidate_tag("t", soft=True)
    stale = await cache.serve("k", render)
    await cache.settle()
    fresh = await cache.serve("k", render)

    assert (stale.status, stale.body) == (CacheStatus.STALE, b"v1")
    assert (fresh.status, fresh.body) == (CacheStatus.HIT, b"v2")


async def test_page_holding_a_timed_fragment_expires_with_it(cache: Cache, clock: Clock) -> None:
    part = Renderer("p")

    async def page() -> str:
        return await fragment("timed", part, revalidate=5)

    with cache.bound():
        first = await cache.serve("page", page)
        clock.now += 5
        stale = await cache.serve("page", page)

    assert first.entry is not None and first.entry.revalidate == 5
    assert stale.status is CacheStatus.STALE


async def test_dynamic_is_rendered_every_time_and_never_stored(cache: Cache) -> None:
    render = Renderer("t")

    first = await cache.serve("k", render, dynamic=True)
    second = await cache.serve("k", render, dynamic=True)

    assert (first.status, second.status) == (CacheStatus.BYPASS, CacheStatus.BYPASS)
    assert render.calls == 2
    assert cache.store.stats()[0] == 0


async def test_page_holding_a_dynamic_fragment_is_not_stored(cache: Cache) -> None:
    clock_part = Renderer()

    async def page() -> str:
        return "page:" + await fragment("now", clock_part, dynamic=True)

    with cache.bound():
        first = await cache.serve("page", page)
        second = await cache.serve("page", page)

    assert (first.status, first.body) == (CacheStatus.BYPASS, b"page:v1")
    assert (second.status, second.body) == (CacheStatus.BYPASS, b"page:v2")
    assert cache.store.stats()[0] == 0


async def test_invalidations_in_a_transaction_wait_for_commit(cache: Cache) -> None:
    render = Renderer("t")
    await cache.serve("k", render)

    async with cache.after_commit():
        await cache.revalidate_tag("t")
        inside = await cache.serve("k", render)
    after = await cache.serve("k", render)

    assert inside.status is CacheStatus.HIT  # not yet committed
    assert after.status is CacheStatus.MISS


async def test_a_rolled_back_transaction_invalidates_nothing(cache: Cache) -> None:
    render = Renderer("t")
    await cache.serve("k", render)

    with pytest.raises(LookupError):
        async with cache.after_commit():
            await cache.revalidate_tag("t")
            raise LookupError("rollback")

    assert (await cache.serve("k", render)).status is CacheStatus.HIT


async def test_nested_transactions_apply_with_the_outermost(cache: Cache) -> None:
    render = Renderer("a", "b")
    await cache.serve("k", render)

    async with cache.after_commit():
        async with cache.after_commit():
            await cache.revalidate_tag("a")
        await cache.revalidate_tag("b", soft=True)
        assert (await cache.serve("k", render)).status is CacheStatus.HIT

    assert (await cache.serve("k", render)).status is CacheStatus.MISS


async def test_revalidating_inside_a_cached_render_is_an_error(cache: Cache) -> None:
    async def bad_render() -> str:
        await cache.revalidate_tag("t")
        return "never"

    with pytest.raises(RevalidateDuringRender, match="while rendering a cached entry"):
        await cache.serve("k", bad_render)
    assert cache.store.stats()[0] == 0


async def test_module_helpers_need_a_bound_cache(cache: Cache) -> None:
    with pytest.raises(NoActiveCache):
        await revalidate_tag("t")
    render = Renderer("t")
    with cache.bound():
        await cache.serve("k", render)
        await revalidate_tag("t")
        assert (await cache.serve("k", render)).status is CacheStatus.MISS
        await revalidate_path("/x")


async def test_cache_tag_outside_a_render_does_nothing(cache: Cache) -> None:
    cache_tag("anything")  # no scope: no error, and nothing recorded for a later render
    first = await cache.serve("k", Renderer("t"))
    await cache.revalidate_tag("anything")
    second = await cache.serve("k", Renderer("t"))

    assert collected_tags() == ()
    assert first.entry is not None and "anything" not in first.entry.tags
    assert second.status is CacheStatus.HIT


async def test_listeners_hear_every_applied_invalidation(cache: Cache) -> None:
    heard: list[frozenset[str]] = []
    cache.on_invalidate(heard.append)

    await cache.revalidate_tag("a")
    async with cache.after_commit():
        await cache.revalidate_tag("b")
        await cache.revalidate_tag("c")

    assert heard == [frozenset({"a"}), frozenset({"b", "c"})]


async def test_close_cancels_renders_in_flight(cache: Cache) -> None:
    render = Renderer("t")
    render.gate = asyncio.Event()
    reader = asyncio.create_task(cache.serve("k", render))
    await render.started.wait()

    await cache.close()

    with pytest.raises(asyncio.CancelledError):
        await reader


async def test_a_reader_after_an_invalidation_does_not_join_an_older_render(
    cache: Cache,
) -> None:
    """Joining a render that read before the write would show the reader old data."""
    data = {"value": "old"}
    first_call = asyncio.Event()
    gate = asyncio.Event()

    async def render() -> str:
        cache_tag("t")
        seen = data["value"]
        if not first_call.is_set():
            first_call.set()
            await gate.wait()
        return seen

    early = asyncio.create_task(cache.serve("k", render))
    await first_call.wait()  # the early render has read "old"
    data["value"] = "new"
    await cache.revalidate_tag("t")  # the write completes
    late = await cache.serve("k", render)
    gate.set()

    assert (await early).body == b"old"  # it began before the write: allowed
    assert (late.status, late.body) == (CacheStatus.MISS, b"new")
    assert (await cache.serve("k", render)).body == b"new"


class StoreThatFailsAfterReads(MemoryStore):
    """A memory store whose clock is unreachable: the store going down mid-read."""

    async def clock(self) -> int:
        raise StoreUnavailable("store went away")


async def test_store_lost_between_read_and_render_serves_uncached(clock: Clock) -> None:
    cache = Cache(StoreThatFailsAfterReads(max_bytes=1 << 20), now=clock)
    render = Renderer("t")

    served = await cache.serve("k", render)

    assert (served.status, served.body) == (CacheStatus.BYPASS, b"v1")
    assert cache.store.stats()[0] == 0
    assert await cache.store.leased("k") is False  # a local store leases nothing


async def test_collected_tags_are_the_data_tags_of_the_render_so_far(cache: Cache) -> None:
    seen: list[tuple[str, ...]] = []

    async def render() -> str:
        cache_tag("b", "a")
        seen.append(collected_tags())
        return "x"

    with cache.bound(Binding(path_tags=("path:/p", "layout:/"))):
        await cache.serve("k", render)

    assert seen == [("a", "b")]  # sorted, and the request's path tags left out
    assert collected_tags() == ()  # outside a render: nothing


class Parts:
    """Rows of a list: each renders from data already read, and counts its renders."""

    def __init__(self) -> None:
        self.rendered: list[str] = []
        self.values = {"a": "A1", "b": "B1", "c": "C1"}

    def __call__(self, name: str) -> tuple[object, Callable[[], str]]:
        value = self.values[name]

        def render() -> str:
            self.rendered.append(name)
            cache_tag(f"row:{name}")
            return f"<li data-tags='{' '.join(collected_tags())}'>{value}</li>"

        return name, render


async def test_parts_are_read_together_and_only_the_missing_are_rendered(cache: Cache) -> None:
    parts = Parts()

    async def page() -> str:
        cache_tag("list")
        return "".join(await fragments("row", [parts(n) for n in parts.values]))

    with cache.bound():
        first = await cache.serve("page", page)
        await cache.revalidate_tag("row:b")  # one row changed: the page goes with it
        parts.values["b"] = "B2"
        second = await cache.serve("page", page)
        await cache.revalidate_tag("row:c")
        third = await cache.serve("page", page)

    assert parts.rendered == ["a", "b", "c", "b", "c"]  # each later render made one row
    assert first.status is second.status is CacheStatus.MISS
    assert second.body == b"<li data-tags='row:a'>A1</li><li data-tags='row:b'>B2</li>" + (
        b"<li data-tags='row:c'>C1</li>"
    )
    assert second.entry is not None
    assert second.entry.tags == {"list", "row:a", "row:b", "row:c"}
    assert third.status is CacheStatus.MISS  # a row's tag reaches the page


async def test_a_part_takes_the_snapshot_of_the_render_that_read_its_data(cache: Cache) -> None:
    parts = Parts()
    read = asyncio.Event()
    written = asyncio.Event()

    async def page() -> str:
        rows = [parts(n) for n in parts.values]  # the data is read here...
        read.set()
        await written.wait()  # ...then a write lands before the rows are stored
        return "".join(await fragments("row", rows))

    async def fresh_page() -> str:
        return "".join(await fragments("row", [parts(n) for n in parts.values]))

    with cache.bound():
        overlapping = asyncio.create_task(cache.serve("page", page))
        await read.wait()
        parts.values["a"] = "A2"
        await cache.revalidate_tag("row:a")
        written.set()
        await overlapping
        fresh = await cache.serve("other", fresh_page)

    assert b"A2" in fresh.body  # row a, rendered from the old data, was not kept


async def test_a_soft_bump_of_a_part_has_the_page_s_refresh_render_it_again(
    cache: Cache,
) -> None:
    parts = Parts()

    async def page() -> str:
        cache_tag("list")
        return "".join(await fragments("row", [parts(n) for n in parts.values]))

    with cache.bound():
        await cache.serve("page", page)
        parts.values["b"] = "B2"
        await cache.revalidate_tag("row:b", soft=True)
        stale = await cache.serve("page", page)  # the old page once, while one refresh runs
        await cache.settle()
        after = await cache.serve("page", page)

    assert stale.status is CacheStatus.STALE and b"B1" in stale.body
    assert parts.rendered == ["a", "b", "c", "b"]  # the stale row was no part to reuse
    assert after.status is CacheStatus.HIT and b"B2" in after.body and b"B1" not in after.body


async def test_parts_outside_a_render_are_rendered_and_not_stored(cache: Cache) -> None:
    parts = Parts()
    with cache.bound():
        bodies = await fragments("row", [parts("a")])

    assert bodies == ["<li data-tags='row:a'>A1</li>"]  # its template still sees its tags
    assert cache.store.stats()[0] == 0


class StoreDownForParts(MemoryStore):
    """A store that fails the batch read, or the batch write, on demand."""

    def __init__(self) -> None:
        super().__init__(max_bytes=1 << 20)
        self.fail_reads = self.fail_writes = False

    async def get_many(self, keys: list[str], now: float) -> list[Found | None]:
        if self.fail_reads:
            raise StoreUnavailable("down")
        return await super().get_many(keys, now)

    async def put_many(self, entries: list[Entry]) -> list[bool]:
        if self.fail_writes:
            raise StoreUnavailable("down")
        return await super().put_many(entries)


@pytest.mark.parametrize("failing", ["fail_reads", "fail_writes"])
async def test_parts_are_rendered_when_the_store_fails(clock: Clock, failing: str) -> None:
    store = StoreDownForParts()
    cache = Cache(store, now=clock)
    parts = Parts()
    setattr(store, failing, True)

    async def page() -> str:
        return "".join(await fragments("row", [parts("a")]))

    with cache.bound():
        served = await cache.serve("page", page)

    assert served.body == b"<li data-tags='row:a'>A1</li>"
    assert "cache_store_errors_total 1.0" in cache.metrics.render().decode()
    if failing == "fail_reads":  # nothing read: the page itself is not stored either
        assert served.status is CacheStatus.BYPASS
    setattr(store, failing, False)
    assert await store.get_many(["fragment:row('a')"], clock()) == [None]


async def test_an_entry_tagged_with_a_long_tag_is_invalidated_by_it(cache: Cache) -> None:
    long_tag = "ticket:" + "x" * 400
    render = Renderer(long_tag)

    await cache.serve("k", render)
    await cache.revalidate_tag(long_tag)
    again = await cache.serve("k", render)

    assert again.status is CacheStatus.MISS
    assert render.calls == 2


async def test_a_render_that_declines_is_not_stored_counted_or_logged(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    class NotFound(Exception):
        pass

    cache = Cache(
        MemoryStore(max_bytes=1 << 20), now=clock, declined=lambda e: isinstance(e, NotFound)
    )
    render = Renderer("t")
    render.error = NotFound()

    with pytest.raises(NotFound):
        await cache.serve("k", render)
    render.error = RuntimeError("a real failure")
    with pytest.raises(RuntimeError):
        await cache.serve("k", render)

    assert render.calls == 2  # nothing was stored
    assert cache.metrics.registry.get_sample_value("cache_render_errors_total") == 1  # one failure
    assert [r.getMessage() for r in caplog.records] == ["render of 'k' failed"]


# -- bugs planted in a copy of the code that no test caught (issue 11) ------------


async def test_a_page_that_joins_an_older_fragment_render_is_not_stored_fresh(
    clock: Clock,
) -> None:
    """Two processes on one store: this one's fragment render read before another
    process's write; a page that joins that render is as old as it."""
    store = MemoryStore(max_bytes=1 << 20)
    here, elsewhere = Cache(store, now=clock), Cache(store, now=clock)
    data = {"value": "old"}
    read, gate = asyncio.Event(), asyncio.Event()

    async def fragment() -> str:
        cache_tag("t")
        seen = data["value"]
        if not read.is_set():
            read.set()
            await gate.wait()
        return seen

    async def page() -> str:
        return "page:" + (await here.serve("fragment", fragment)).body.decode()

    early = asyncio.create_task(here.serve("fragment", fragment))
    await read.wait()  # the fragment's render has read "old"
    data["value"] = "new"
    await elsewhere.revalidate_tag("t")  # the write, in another process
    joining = asyncio.create_task(here.serve("page", page))
    while here.waiting == 0:  # until the page's render has joined the fragment's
        await asyncio.sleep(0)
    gate.set()
    await early
    assert (await joining).body == b"page:old"  # it joined an older render: allowed once

    again = await here.serve("page", page)

    assert (again.status, again.body) == (CacheStatus.MISS, b"page:new")


async def test_a_page_rendered_around_a_stale_fragment_goes_stale_itself(cache: Cache) -> None:
    data = {"value": "old"}

    async def fragment() -> str:
        cache_tag("t")
        return data["value"]

    async def page() -> str:
        return "page:" + (await cache.serve("fragment", fragment)).body.decode()

    await cache.serve("fragment", fragment)
    data["value"] = "new"
    await cache.revalidate_tag("t", soft=True)
    first = await cache.serve("page", page)  # around the stale fragment
    await asyncio.gather(*cache.renders.running)  # the fragment's refresh in the background

    second = await cache.serve("page", page)
    await asyncio.gather(*cache.renders.running)
    third = await cache.serve("page", page)

    assert first.body == b"page:old"
    assert second.status is CacheStatus.STALE  # not a fresh HIT of the old fragment
    assert (third.status, third.body) == (CacheStatus.HIT, b"page:new")


async def test_a_soft_invalidation_alone_in_a_transaction_is_applied_at_commit(
    cache: Cache,
) -> None:
    render = Renderer("t")
    await cache.serve("k", render)

    async with cache.after_commit():
        await cache.revalidate_tag("t", soft=True)

    assert (await cache.serve("k", render)).status is CacheStatus.STALE


class StoreThatFailsBumps(MemoryStore):
    """A store that refuses the next ``failures`` bumps, then works again."""

    def __init__(self) -> None:
        super().__init__(max_bytes=1 << 20)
        self.failures = 0

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("blip")
        await super().bump(tags, soft=soft)


async def test_an_owed_bump_survives_a_store_that_fails_again_while_it_is_paid(
    clock: Clock,
) -> None:
    store = StoreThatFailsBumps()
    cache = Cache(store, now=clock)
    render = Renderer("t")
    await cache.serve("k", render)
    store.failures = 2  # the bump, then the first attempt to pay it

    await cache.revalidate_tag("t")
    with pytest.raises(StoreUnavailable):
        await cache.invalidations.pay_owed()
    assert cache.invalidations.owes  # still owed: not lost with the failed attempt
    assert (await cache.store.get("k", clock()))[1] is Freshness.FRESH  # the entry survived

    assert (await cache.serve("k", render)).status is CacheStatus.MISS  # paid, then read


# -- what a transaction queued, for an outbox ----------------------------------------


async def test_a_commit_says_what_it_queued_and_whether_it_was_applied(clock: Clock) -> None:
    store = StoreThatFailsBumps()
    cache = Cache(store, now=clock)

    async with cache.after_commit() as commit:
        await cache.revalidate_tag("a")
        await cache.revalidate_tag("b", soft=True)
        async with cache.after_commit() as inner:
            await cache.revalidate_tag("c")
        assert inner is commit  # nested blocks join the outermost
    store.failures = 1
    async with cache.after_commit() as refused:
        await cache.revalidate_tag("d")
    async with cache.after_commit() as empty:
        pass

    assert commit.queued == [("a", False), ("b", True), ("c", False)]
    assert commit.groups() == [(frozenset({"a", "b", "c"}), False)]  # one bump, all hard
    assert commit.applied
    assert not refused.applied and cache.invalidations.owes  # owed by this process
    assert not empty.applied and empty.groups() == []


async def test_a_commit_kept_as_text_is_applied_by_another_cache(clock: Clock) -> None:
    writer, sweeper = Cache(MemoryStore(1 << 20), now=clock), Cache(MemoryStore(1 << 20), now=clock)
    async with writer.after_commit() as commit:
        await writer.revalidate_tag("a")
        await writer.revalidate_tag("b", soft=True)
    heard: list[frozenset[str]] = []
    sweeper.on_invalidate(heard.append)
    await sweeper.serve("k", Renderer("a"))

    await sweeper.apply_commit(Commit.from_text(commit.to_text()))

    assert heard == [frozenset({"a", "b"})]  # one bump, hard, as the writer's was
    assert (await sweeper.serve("k", Renderer("a"))).status is CacheStatus.MISS


async def test_code_that_cannot_await_queues_with_the_transaction(cache: Cache) -> None:
    """A database hook adds what a write moved to the transaction's commit."""
    await cache.serve("k", Renderer("moved"))
    async with cache.after_commit() as commit:
        commit.add("moved")
        commit.add("moved")  # once, however often asked
        assert (await cache.serve("k", Renderer("moved"))).status is CacheStatus.HIT

    assert commit.queued == [("moved", False)] and commit.applied
    assert (await cache.serve("k", Renderer("moved"))).status is CacheStatus.MISS


async def test_a_hook_can_tell_whether_a_render_collects(cache: Cache) -> None:
    seen: list[bool] = []

    async def render() -> str:
        seen.append(is_rendering())
        return "body"

    seen.append(is_rendering())
    await cache.serve("k", render)
    assert seen == [False, True]


async def test_the_tags_of_one_transaction_move_together(cache: Cache) -> None:
    """One bump, one clock value: no reader sees one of them moved and not another."""
    store = cache.store
    assert isinstance(store, MemoryStore)

    async with cache.after_commit():
        await cache.revalidate_tag("a", soft=True)
        await cache.revalidate_tag("b", soft=True)
    async with cache.after_commit():
        await cache.revalidate_tag("c")
        await cache.revalidate_tag("d", soft=True)  # with a hard one: hard too

    assert store._stale_at["a"] == store._stale_at["b"]
    assert store._expired_at["c"] == store._expired_at["d"] == store._stale_at["a"] + 1


async def test_apply_bumps_now_or_raises_for_the_caller_to_keep_it(clock: Clock) -> None:
    store = StoreThatFailsBumps()
    cache = Cache(store, now=clock)
    heard: list[frozenset[str]] = []
    cache.on_invalidate(heard.append)
    render = Renderer("t")
    await cache.serve("k", render)

    store.failures = 1
    with pytest.raises(StoreUnavailable):
        await cache.invalidations.apply(frozenset({"t"}), soft=False)
    assert not cache.invalidations.owes  # the caller keeps it, not this process
    assert (await cache.serve("k", render)).status is CacheStatus.HIT
    await cache.invalidations.apply(frozenset({"t"}), soft=False)

    assert (await cache.serve("k", render)).status is CacheStatus.MISS
    assert heard == [frozenset({"t"})]


# -- refreshes of stale entries: failures and their number ----------------------------


async def test_a_failing_refresh_keeps_serving_the_last_good_body_and_backs_off(
    cache: Cache, clock: Clock
) -> None:
    render = Renderer("t")
    await cache.serve("k", render)
    await cache.revalidate_tag("t", soft=True)
    render.error = RuntimeError("database down")

    first = await cache.serve("k", render)
    await cache.settle()
    during_backoff = await cache.serve("k", render)
    clock.now += 1.1  # past the first back-off (1 s)
    retried = await cache.serve("k", render)
    await cache.settle()
    clock.now += 1.1  # not past the second (2 s)
    still_waiting = await cache.serve("k", render)
    render.error = None
    clock.now += 1.0
    await cache.serve("k", render)
    await cache.settle()
    healed = await cache.serve("k", render)

    assert [s.status for s in (first, during_backoff, retried, still_waiting)] == [
        CacheStatus.STALE
    ] * 4
    assert {s.body for s in (first, during_backoff, retried, still_waiting)} == {b"v1"}
    assert render.calls == 4  # v1, the failure, the retry after 1 s, the one after 2 s more
    assert (healed.status, healed.body) == (CacheStatus.HIT, b"v4")
    assert cache.metrics.registry.get_sample_value("cache_render_errors_total") == 2


async def test_no_refresh_is_tried_during_its_back_off(cache: Cache, clock: Clock) -> None:
    render = Renderer("t")
    await cache.serve("k", render)
    await cache.revalidate_tag("t", soft=True)
    render.error = RuntimeError("database down")

    calls = []
    # Back-offs of 1 s, then 2 s, then 4 s: each serve is settled before the next,
    # so a refresh tried in a back-off would have run (and been counted) by then.
    for step in (0.0, 0.5, 0.6, 1.0, 1.5, 0.6, 3.0):
        clock.now += step
        assert (await cache.serve("k", render)).status is CacheStatus.STALE
        await cache.settle()
        calls.append(render.calls)

    assert calls == [2, 2, 3, 3, 4, 4, 4]


async def test_at_most_a_few_refreshes_run_at_once(cache: Cache) -> None:
    render = Renderer("t")
    keys = [f"page-{n}" for n in range(20)]
    for key in keys:
        await cache.serve(key, render)
    await cache.revalidate_tag("t", soft=True)
    render.gate = asyncio.Event()

    served = [await cache.serve(key, render) for key in keys]  # a crawler

    assert {s.status for s in served} == {CacheStatus.STALE}
    assert len(cache.renders.running) == cache.refresher.max_refreshes == 8  # renders started
    assert cache.metrics.registry.get_sample_value("cache_refreshes_deferred_total") == 12
    render.gate.set()
    await cache.settle()
    again = [await cache.serve(key, render) for key in keys]
    assert sum(s.status is CacheStatus.HIT for s in again) == 8  # the others refresh now


class SharedStore(MemoryStore):
    shared = True  # read by every process, as Redis is


@pytest.mark.parametrize(
    ("store", "edges", "outlives"),
    [
        pytest.param(MemoryStore(1 << 20), 0, False, id="in-process"),
        pytest.param(OffStore(), 0, False, id="off"),
        pytest.param(SharedStore(1 << 20), 0, True, id="shared"),
        pytest.param(MemoryStore(1 << 20), 1, True, id="behind-an-edge"),
    ],
)
def test_what_a_cache_keeps_outlives_its_process_with_a_shared_store_or_an_edge(
    store: MemoryStore, edges: int, outlives: bool
) -> None:
    cache = Cache(store, edges=[Edge("http://127.0.0.1:9")] * edges)

    assert cache.outlives_process is outlives
