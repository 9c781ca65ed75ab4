"""The figures the admin page draws: reads by route, renders per invalidation,
what moved and rendered most, write -> consistent, the store against its bound."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.cache import Cache, MemoryStore
from app.cache.figures import KEPT_BY_NAME, Tally, route_of
from app.cache.metrics import CONSISTENT_BUCKETS
from app.cache.timeline import Sample, Timeline
from tests.cache.helpers import Clock, Site

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
    timeline = Watched(cache.metrics, store.stats, clock, every=0.001)
    timeline.start()
    await timeline.taken.wait()
    await timeline.close()

    assert len(timeline.samples) >= 2 and timeline.samples.maxlen == 3_600_000
    assert timeline.series()["bytes"][-1] == 0 and timeline.series()["bound"] == 1000


async def test_a_timeline_never_started_closes() -> None:
    cache = Cache(MemoryStore(1000))

    await cache.timeline.close()

    assert cache.timeline.series()["at"] and cache.timeline.series()["hit_ratio"] == {}
