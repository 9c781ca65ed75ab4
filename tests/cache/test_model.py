"""Random sequences of reads, writes, invalidations and time steps, against a model.

The model is the database itself: every completed read must show the data as
of its start, since every write invalidates what it changed; and the store
never holds more bytes than its bound.
"""

from __future__ import annotations

import asyncio

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from app.cache import Cache, MemoryStore, cache_tag, fragment
from tests.cache.helpers import Clock

ITEMS = ("a", "b", "c")
TARGETS = ("a", "b", "c", "page")
MAX_BYTES = 1_500  # a handful of entries: evictions happen all the time


class CacheModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.cache = Cache(MemoryStore(MAX_BYTES), now=self.clock)
        self.db = dict.fromkeys(ITEMS, 0)
        self.pause_next_render: asyncio.Event | None = None
        self.paused = asyncio.Event()

    def teardown(self) -> None:
        self.loop.run_until_complete(self.cache.close())
        self.loop.close()

    # -- what the app would do -------------------------------------------

    async def render_item(self, item: str) -> str:
        cache_tag(item)
        value = self.db[item]
        gate, self.pause_next_render = self.pause_next_render, None
        if gate is not None:
            self.paused.set()
            await gate.wait()
        return f"{item}={value}"

    async def read(self, target: str) -> str:
        def item_fragment(item: str) -> object:
            # c is timed: it goes stale with time as well as with writes
            timed = 5 if item == "c" else None
            return fragment(item, lambda: self.render_item(item), revalidate=timed)

        async def page() -> str:
            parts = [await item_fragment(item) for item in ("a", "c")]  # type: ignore[misc]
            return "|".join(parts)

        with self.cache.bound():
            if target == "page":
                body = (await self.cache.serve("page", page)).body.decode()
            else:
                body = await item_fragment(target)  # type: ignore[misc]
        return body

    def expected(self, target: str) -> str:
        if target == "page":
            return f"a={self.db['a']}|c={self.db['c']}"
        return f"{target}={self.db[target]}"

    async def commit_write(self, item: str, value: int) -> None:
        async with self.cache.after_commit():
            self.db[item] = value
            await self.cache.revalidate_tag(item)

    # -- rules -----------------------------------------------------------

    @rule(what=st.sampled_from(TARGETS))
    def read_shows_the_latest_write(self, what: str) -> None:
        body = self.loop.run_until_complete(self.read(what))
        self.loop.run_until_complete(self.cache.settle())
        assert body == self.expected(what)

    @rule(item=st.sampled_from(ITEMS), value=st.integers(0, 1_000))
    def write(self, item: str, value: int) -> None:
        self.loop.run_until_complete(self.commit_write(item, value))

    @rule(item=st.sampled_from(ITEMS), value=st.integers(0, 1_000))
    def rolled_back_write(self, item: str, value: int) -> None:
        async def attempt() -> None:
            before = self.db[item]
            try:
                async with self.cache.after_commit():
                    self.db[item] = value
                    await self.cache.revalidate_tag(item)
                    raise RuntimeError("rollback")
            except RuntimeError:
                self.db[item] = before

        self.loop.run_until_complete(attempt())

    @rule(item=st.sampled_from(ITEMS))
    def soft_invalidation(self, item: str) -> None:
        self.loop.run_until_complete(self.cache.revalidate_tag(item, stale=True))

    @rule(seconds=st.floats(0, 10))
    def time_passes(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule(
        what=st.sampled_from(TARGETS),
        item=st.sampled_from(ITEMS),
        value=st.integers(0, 1_000),
    )
    def write_during_a_render(self, what: str, item: str, value: int) -> None:
        """A render reads, a write completes, the render stores: later reads are fresh."""

        async def interleave() -> None:
            gate = asyncio.Event()
            self.pause_next_render = gate
            self.paused.clear()
            slow = asyncio.create_task(self.read(what))
            paused = asyncio.create_task(self.paused.wait())
            await asyncio.wait({slow, paused}, return_when=asyncio.FIRST_COMPLETED)
            self.pause_next_render = None  # the read may have been a hit: no render
            await self.commit_write(item, value)
            # It overlaps the paused render; joining that render would hang it,
            # so a bound on the wait turns such a bug into a failure.
            after_write = await asyncio.wait_for(self.read(what), timeout=5)
            gate.set()
            await slow
            paused.cancel()
            assert after_write == self.expected(what)

        self.loop.run_until_complete(interleave())
        self.loop.run_until_complete(self.cache.settle())

    @invariant()
    def store_within_its_bound(self) -> None:
        assert self.cache.store.stats()[1] <= MAX_BYTES


CacheModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestCacheModel = CacheModel.TestCase
