"""Prometheus counters of one cache, in a registry of its own.

A registry per cache (not the global one) lets several apps live in one
process, as they do in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


def tag_family(tag: str) -> str:
    """``ticket:42`` -> ``ticket``: a bounded label set, whatever the number of ids."""
    return tag.split(":", 1)[0]


class CacheMetrics:
    content_type = CONTENT_TYPE

    def __init__(self, stats: Callable[[], tuple[int, int]]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.hits = Counter("cache_hits", "Reads served fresh from the cache.", registry=r)
        self.misses = Counter("cache_misses", "Reads that rendered the entry.", registry=r)
        self.stale = Counter("cache_stale_serves", "Reads served a stale body.", registry=r)
        self.bypasses = Counter("cache_bypasses", "Reads of dynamic content.", registry=r)
        self.renders = Counter("cache_renders", "Renders of cacheable entries.", registry=r)
        self.render_errors = Counter("cache_render_errors", "Renders that raised.", registry=r)
        self.render_seconds = Histogram(
            "cache_render_seconds", "Time spent rendering one entry.", registry=r
        )
        self.invalidations = Counter(
            "cache_invalidations", "Tags invalidated, by tag family.", ["family"], registry=r
        )
        self.store_errors = Counter(
            "cache_store_errors", "Store operations that failed.", registry=r
        )
        entries = Gauge("cache_entries", "Entries held by the store.", registry=r)
        entries.set_function(lambda: stats()[0])
        size = Gauge("cache_bytes", "Bytes held by the store.", registry=r)
        size.set_function(lambda: stats()[1])

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
