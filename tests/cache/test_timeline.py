"""The figures the admin page draws: reads by route, renders per invalidation,
what moved and rendered most, write -> consistent, the store against its bound."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.cache import Cache, MemoryStore
from app.cache.errors import StoreUnavailable
from app.cache.figures import KEPT_BY_NAME, Tally, route_of
from app.cache.metrics import CONSISTENT_BUCKETS
from app.cache.redis.store import RedisStore
from app.cache.timeline import Sample, Timeline
from harness.servers import RedisServer
from tests.cache.helpers import Clock, Site, two_processes

ID = "0b9f7c1e-3a2d-4c5b-9e8f-7a6b5c4d3e2f"


@pytest.mark.parametrize(
    ("key", "route"),
    [
        ("/tickets? page", "/tickets"),
        ("/tickets?status=OPEN partial", "/tickets"),
        (f"/tickets/{ID}? page", "/tickets/{id}"),
        (f"/fragments/tickets/{ID}/row? partial", "/fragments/tickets/{id}/row"),
        ("/tickets/12? page", "/tickets/{id}"),
        (f"fragment:ticket-row('{ID}')", "fragment:ticket-row"),
        ("fragment:status-legend()", "fragment:status-legend"),
    ],
)
def test_a_key_counts_under_its_route(key: str, route: str) -> None:
    assert route_of(key) == route


def test_a_tally_keeps_the_heavy_hitters_and_drops_the_tail() -> None:
    tally = Tally()
    for _ in range(5):
        tally.add("often")
    for n in range(3 * KEPT_BY_NAME):
        tally.add(f"once-{n}")

    assert tally.top(1) == [("often", 5)]
    assert len(tally.counts) <= 2 * KEPT_BY_NAME and tally.total == 5 + 3 * KEPT_BY_NAME


async def test_reads_count_by_route_and_renders_per_invalidation(
    site: Site, client: httpx.AsyncClient
) -> None:
    timeline = site.cache.timeline
    await client.get("/static-page")  # a miss: one render
    await client.get("/static-page")  # a hit
    await client.get("/static-page")
    await client.post("/write")  # a soft bump of "data"
    await client.get("/static-page")  # stale, refreshed in the background
    await site.cache.settle()

    series = timeline.series()
    metrics = site.cache.metrics.render().decode()

    # Two hits; the first render and the background refresh each count as a miss.
    assert series["hit_ratio"] == {"/static-page": [0.5]}
    assert series["renders_per_invalidation"] == [2.0]  # the first render and the refresh
    assert series["most_invalidated"] == [("data", 1)]
    assert series["most_rendered"] == [("/static-page? page", 2)]
    assert 'cache_route_hits_total{route="/static-page"} 2.0' in metrics
    assert 'cache_route_misses_total{route="/static-page"} 2.0' in metrics


async def test_a_write_is_timed_from_commit_to_each_stage(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.post("/write")
    await client.post("/write")

    buckets = site.cache.timeline.series()["consistent"]

    assert buckets["stages"] == ["store", "edge", "live"]
    store, edge, live = (buckets["buckets"][stage] for stage in buckets["stages"])
    assert sum(store) == sum(live) == 2 and len(store) == len(CONSISTENT_BUCKETS) + 1
    assert sum(edge) == 0  # no edge to purge


class Watched(Timeline):
    """Says when its background task took a sample."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.taken = asyncio.Event()
        super().__init__(*args, **kwargs)

    def sample(self) -> Sample:
        taken = super().sample()
        if hasattr(self, "samples"):  # the first is taken by __init__, before the task
            self.taken.set()
        return taken


async def test_samples_are_taken_in_the_background_and_bounded_to_an_hour() -> None:
    clock = Clock()
    store = MemoryStore(1000)
    cache = Cache(store, now=clock)
    timeline = Watched(cache.metrics, store, clock, "here", every=0.001)
    timeline.start()
    await timeline.taken.wait()
    await timeline.close()

    assert len(timeline.samples) >= 2 and timeline.samples.maxlen == 3_600_000
    assert timeline.series()["bytes"][-1] == 0 and timeline.series()["bound"] == 1000


async def test_a_timeline_never_started_closes() -> None:
    cache = Cache(MemoryStore(1000))

    await cache.timeline.close()

    assert cache.timeline.series()["at"] and cache.timeline.series()["hit_ratio"] == {}


async def test_the_cluster_adds_up_what_every_live_process_posted(
    redis_server: RedisServer,
) -> None:
    clock = Clock()
    async with two_processes(redis_server.url, clock) as (a, b):
        a.timeline.name, b.timeline.name = "a", "b"  # two processes (here: one pid)
        for cache in (a, b):
            await cache.timeline.share(cache.timeline.sample())
        for _ in range(3):
            a.metrics.hit("/tickets? page")
        b.metrics.miss("/tickets? page")
        await b.store.refresh_stats()  # type: ignore[attr-defined]  # a RedisStore's
        await a.timeline.share(a.timeline.sample())
        await b.timeline.share(b.timeline.sample())

        series = b.timeline.series(cluster=True)

    assert series["scope"] == "cluster" and series["processes"] == 2
    assert series["hour"]["hits"] == {"/tickets": 3} and series["hour"]["misses"] == {"/tickets": 1}
    assert series["hit_ratio"] == {"/tickets": [0.75]}  # by the sum, in b's view
    assert series["bound"] == 64 << 20


def test_a_process_that_left_takes_its_counts_without_going_below_zero() -> None:
    timeline = Cache(MemoryStore(1000)).timeline
    both = Sample(at=1.0, hits={"/": 5}, misses={"/": 5}, renders=4, bumps=2, bytes=9, bound=10)
    one = Sample(at=2.0, hits={"/": 2}, misses={"/": 1}, renders=1, bumps=1, bytes=9, bound=10)
    timeline.cluster.extend([(both, 2), (one, 1)])

    series = timeline.series(cluster=True)

    assert series["hour"]["hits"] == {"/": 0} and series["hit_ratio"] == {"/": [None]}
    assert series["renders_per_invalidation"] == [None] and series["processes"] == 1


def test_no_cluster_sample_yet_is_an_empty_series() -> None:
    series = Cache(MemoryStore(1000)).timeline.series(cluster=True)

    assert series["at"] == [] and series["processes"] == 0 and series["hour"]["renders"] == 0


class BoardDown:
    async def post(self, name: str, text: str, ttl_seconds: float) -> None:
        raise StoreUnavailable("redis is down")

    async def read(self) -> dict[str, str]:
        raise AssertionError("never read when the post failed")


class StoreWithBoardDown(MemoryStore):
    board = BoardDown()


async def test_figures_that_cannot_be_shared_wait_and_sampling_goes_on() -> None:
    clock = Clock()
    store = StoreWithBoardDown(1000)
    timeline = Watched(Cache(store, now=clock).metrics, store, clock, "here", every=0.001)
    timeline.start()
    await timeline.taken.wait()
    timeline.taken.clear()
    await timeline.taken.wait()  # sampled again after a failed share
    await timeline.close()

    assert len(timeline.samples) >= 3 and not timeline.cluster


async def test_a_board_nobody_posted_on_reads_empty(redis_server: RedisServer) -> None:
    store = RedisStore(f"{redis_server.url}?prefix=empty-board")
    try:
        found = await store.board.read()
    finally:
        await store.close()

    assert found == {}
