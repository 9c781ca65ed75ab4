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

_FAMILY_END = re.compile(r"[:?.]")


def tag_family(tag: str) -> str:
    """``ticket:42``, ``ticket?status=OPEN``, ``ticket.title`` -> ``ticket``: a
    bounded label set, whatever the number of ids and values."""
    return _FAMILY_END.split(tag, maxsplit=1)[0]


class PlainCounter(Collector):
    """A counter without a lock, for the HIT path: a plain int, read when scraped.

    prometheus_client's Counter takes a lock on every ``inc``; the cache
    counts from one event loop thread, where an int cannot tear.
    """

    def __init__(self, name: str, documentation: str) -> None:
        self.name, self.documentation = name, documentation
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.value)


class CacheMetrics:
    content_type = CONTENT_TYPE

    def __init__(self, stats: Callable[[], tuple[int, int]], stamps: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.hits = PlainCounter("cache_hits", "Reads served fresh from the cache.")
        r.register(self.hits)
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
        entries.set_function(lambda: stats()[0])
        size = Gauge("cache_bytes", "Bytes held by the store.", registry=r)
        size.set_function(lambda: stats()[1])
        stamp_gauge = Gauge("cache_tag_stamps", "Tag stamps the store keeps.", registry=r)
        stamp_gauge.set_function(stamps)

    def watch_waiting(self, waiting: Callable[[], int]) -> None:
        gauge = Gauge(
            "cache_render_waiters",
            "Readers waiting for a render in flight.",
            registry=self.registry,
        )
        gauge.set_function(waiting)

    def invalidated(self, tags: frozenset[str]) -> None:
        for tag in tags:
            self.invalidations.labels(tag_family(tag)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
