"""What the cache did, counted per process: what its admin page draws and
``/metrics`` shows by label.

Counted where the work happens, as plain dict increments (no clock, no lock:
the cache counts from one event loop thread; the HIT path pays a dict
lookup), and read by ``Timeline`` every few seconds and by Prometheus when it
scrapes. Every label set is bounded: a key counts under its route
(``route_of``: ids folded to ``{id}``), and only the most frequent tags and
keys are kept by name (``Tally``).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

# A path segment or fragment argument that names one thing, not a route.
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")
_ARGS = re.compile(r"\(.*\)$")
KEPT_BY_NAME = 50  # tags and keys a tally names; the rest are dropped as it grows


@functools.lru_cache(maxsize=4096)  # keys repeat; their routes are few
def route_of(key: str) -> str:
    """A cache key's route: its path without query or variant, ids as ``{id}``
    (``/tickets/{id}``), or a fragment's name (``fragment:ticket-row``)."""
    if key.startswith("fragment:"):
        return _ARGS.sub("", key)
    path = key.split("?", 1)[0].split(" ", 1)[0]
    return _ID.sub("{id}", path)


class Tally:
    """Counts by name, keeping the ``KEPT_BY_NAME`` most frequent when it grows
    past twice that: the heavy hitters stay, a long tail of one-offs does not."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.total = 0

    def add(self, name: str) -> None:
        self.counts[name] += 1
        self.total += 1
        if len(self.counts) > 2 * KEPT_BY_NAME:
            self.counts = Counter(dict(self.counts.most_common(KEPT_BY_NAME)))

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        return self.counts.most_common(n)


class Figures:
    """Cumulative counts of one process's cache since it started."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}  # by route
        self.misses: dict[str, int] = {}  # by route: reads that rendered (or waited for) it
        self.renders = Tally()  # by key
        self.invalidated = Tally()  # by tag
        self.bumps = 0  # invalidations applied here (one per write, however many tags)

    def hit(self, key: str) -> None:
        route = route_of(key)
        self.hits[route] = self.hits.get(route, 0) + 1

    def miss(self, key: str) -> None:
        route = route_of(key)
        self.misses[route] = self.misses.get(route, 0) + 1

    def bumped(self, tags: frozenset[str]) -> None:
        self.bumps += 1
        for tag in tags:
            self.invalidated.add(tag)


class FiguresCollector(Collector):
    """``Figures`` by route for Prometheus, read when scraped."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, counts, documentation in (
            ("cache_route_hits", self.figures.hits, "Reads served fresh, by route."),
            ("cache_route_misses", self.figures.misses, "Reads that rendered, by route."),
        ):
            family = CounterMetricFamily(name, documentation, labels=["route"])
            for route, value in sorted(counts.items()):
                family.add_metric([route], value)
            yield family
