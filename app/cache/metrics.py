"""Prometheus counters of one cache, in a registry of its own.

A registry per cache (not the global one) lets several apps live in one
process, as they do in the tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from app.cache.figures import Figures, FiguresCollector
from app.cache.store import StoreStats

_FAMILY_END = re.compile(r"[:?.]")
# From a write's COMMIT to: the store's bump applied, every edge purged, the
# live listeners told (who push it to open pages).
CONSISTENT_STAGES = ("store", "edge", "live")
CONSISTENT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0)


def tag_family(tag: str) -> str:
    """``ticket:42``, ``ticket?status=OPEN``, ``ticket.title`` -> ``ticket``: a
    bounded label set, whatever the number of ids and values."""
    return _FAMILY_END.split(tag, maxsplit=1)[0]


class HitCount(Collector):
    """``cache_hits_total``: the HITs ``Figures`` counts by route, summed when
    scraped. A HIT is counted once, on the fast path, with no lock
    (prometheus_client's Counter takes one on every ``inc``; the cache counts
    from one event loop thread, where an int cannot tear)."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    @property
    def value(self) -> int:
        return sum(self.figures.hits.values())

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "cache_hits", "Reads served fresh from the cache.", value=self.value
        )


class CacheMetrics:
    content_type = CONTENT_TYPE

    def __init__(self, stats: Callable[[], StoreStats], stamps: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.figures = Figures()  # reads by route, and what moved most (app/cache/figures.py)
        r.register(FiguresCollector(self.figures))
        self.hits = HitCount(self.figures)
        r.register(self.hits)
        # A HIT, counted by route (and so in all: ``HitCount``): called on the
        # fast path, so bound straight to what it does.
        self.hit: Callable[[str], None] = self.figures.hit
        self.misses = Counter("cache_misses", "Reads that rendered the entry.", registry=r)
        self.stale = Counter("cache_stale_serves", "Reads served a stale body.", registry=r)
        self.bypasses = Counter("cache_bypasses", "Reads of dynamic content.", registry=r)
        self.renders = Counter("cache_renders", "Renders of cacheable entries.", registry=r)
        self.render_errors = Counter("cache_render_errors", "Renders that raised.", registry=r)
        self.refreshes_deferred = Counter(
            "cache_refreshes_deferred",
            "Stale entries served without a refresh: too many refreshes were running.",
            registry=r,
        )
        self.render_seconds = Histogram(
            "cache_render_seconds", "Time spent rendering one entry.", registry=r
        )
        self.invalidations = Counter(
            "cache_invalidations", "Tags invalidated, by tag family.", ["family"], registry=r
        )
        self.consistent = Histogram(
            "cache_write_consistent_seconds",
            "From a write's COMMIT to each stage of its invalidation, by stage.",
            ["stage"],
            buckets=CONSISTENT_BUCKETS,
            registry=r,
        )
        self.read_throughs = Counter(
            "cache_read_throughs",
            "Reads of a visitor whose last write this process had not heard of in time:"
            " rendered, nothing kept used.",
            registry=r,
        )
        self.store_errors = Counter(
            "cache_store_errors", "Store operations that failed.", registry=r
        )
        self.verifications = Counter(
            "cache_verifications",
            "Sampled HITs rendered again (CACHE_VERIFY_RATE), by outcome.",
            ["outcome"],
            registry=r,
        )
        self.divergences = Counter(
            "cache_divergence",
            "Sampled HITs whose fresh render differed while none of their tags moved.",
            ["route"],
            registry=r,
        )
        entries = Gauge("cache_entries", "Entries held by the store.", registry=r)
        entries.set_function(lambda: stats().entries)
        size = Gauge("cache_bytes", "Bytes held by the store.", registry=r)
        size.set_function(lambda: stats().bytes)
        stamp_gauge = Gauge("cache_tag_stamps", "Tag stamps the store keeps.", registry=r)
        stamp_gauge.set_function(stamps)

    def watch_waiting(self, waiting: Callable[[], int]) -> None:
        gauge = Gauge(
            "cache_render_waiters",
            "Readers waiting for a render in flight.",
            registry=self.registry,
        )
        gauge.set_function(waiting)

    def miss(self, key: str) -> None:
        self.misses.inc()
        self.figures.miss(key)

    def rendered(self, key: str) -> None:
        self.renders.inc()
        self.figures.renders.add(key)

    def invalidated(self, tags: frozenset[str]) -> None:
        for tag in tags:
            self.invalidations.labels(tag_family(tag)).inc()
        self.figures.bumped(tags)

    def consistent_counts(self) -> dict[str, list[int]]:
        """The write -> consistent histogram by stage: a count per bucket of
        ``CONSISTENT_BUCKETS`` and one past the last (not cumulative)."""
        counts = {stage: [0] * (len(CONSISTENT_BUCKETS) + 1) for stage in CONSISTENT_STAGES}
        for family in self.consistent.collect():
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    at = (
                        len(CONSISTENT_BUCKETS)
                        if bound == float("inf")
                        else CONSISTENT_BUCKETS.index(bound)
                    )
                    counts[sample.labels["stage"]][at] = int(sample.value)
        for cumulative in counts.values():  # Prometheus buckets count everything below them
            for at in range(len(cumulative) - 1, 0, -1):
                cumulative[at] -= cumulative[at - 1]
        return counts

    def render(self) -> bytes:
        return generate_latest(self.registry)
