"""The last hour of one process's cache figures, sampled: what its admin page draws.

Every ``SAMPLE_SECONDS`` a background task copies the cumulative figures
(``CacheMetrics.figures``, the write -> consistent histogram, the store's
bytes) into a ring of an hour's samples. ``series`` turns consecutive samples
into rates per interval, with a last point for "now", so a chart moves as
soon as something happens instead of at the next sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.cache.metrics import CONSISTENT_BUCKETS, CONSISTENT_STAGES, CacheMetrics
from app.cache.store import StoreStats

SAMPLE_SECONDS = 10.0
SPAN_SECONDS = 3600.0
TOP = 10  # tags and entries named in the "most" tables


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # wall-clock seconds
    hits: dict[str, int]  # by route, cumulative
    misses: dict[str, int]
    renders: int
    bumps: int
    bytes: int
    bound: int


class Timeline:
    """An hour of samples of one cache's figures, and the series drawn from them."""

    def __init__(
        self,
        metrics: CacheMetrics,
        stats: Callable[[], StoreStats],
        now: Callable[[], float],
        every: float = SAMPLE_SECONDS,
    ) -> None:
        self.metrics = metrics
        self.stats = stats
        self.now = now
        self.every = every
        self.samples: deque[Sample] = deque([self.sample()], maxlen=int(SPAN_SECONDS / every))
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> Sample:
        figures, stats = self.metrics.figures, self.stats()
        return Sample(
            at=self.now(),
            hits=dict(figures.hits),
            misses=dict(figures.misses),
            renders=figures.renders.total,
            bumps=figures.bumps,
            bytes=stats.bytes,
            bound=stats.bound,
        )

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)  # a clock, not a wait for an event
            self.samples.append(self.sample())

    def series(self) -> dict[str, Any]:
        """The charts' data (JSON): per interval since the hour began, and now."""
        samples = [*self.samples, self.sample()]
        pairs = list(itertools.pairwise(samples))
        routes = sorted({route for s in samples for route in (*s.hits, *s.misses)})
        figures = self.metrics.figures
        first, last = samples[0], samples[-1]
        return {
            "hour": {  # totals since the oldest sample, for the tables
                "hits": {
                    route: last.hits.get(route, 0) - first.hits.get(route, 0) for route in routes
                },
                "misses": {
                    route: last.misses.get(route, 0) - first.misses.get(route, 0)
                    for route in routes
                },
                "renders": last.renders - first.renders,
                "invalidations": last.bumps - first.bumps,
            },
            "at": [after.at for _, after in pairs],
            "hit_ratio": {
                route: [_ratio(before, after, route) for before, after in pairs] for route in routes
            },
            "renders_per_invalidation": [_per_bump(before, after) for before, after in pairs],
            "bytes": [after.bytes for _, after in pairs],
            "bound": samples[-1].bound,
            "consistent": self._consistent(),
            "most_invalidated": figures.invalidated.top(TOP),
            "most_rendered": figures.renders.top(TOP),
        }

    def _consistent(self) -> dict[str, Any]:
        """The write -> consistent histogram: counts per bucket, by stage."""
        counts = self.metrics.consistent_counts()
        return {
            "stages": list(CONSISTENT_STAGES),
            "le": list(CONSISTENT_BUCKETS),
            "buckets": counts,
        }


def _ratio(before: Sample, after: Sample, route: str) -> float | None:
    hits = after.hits.get(route, 0) - before.hits.get(route, 0)
    misses = after.misses.get(route, 0) - before.misses.get(route, 0)
    return None if hits + misses == 0 else round(hits / (hits + misses), 4)


def _per_bump(before: Sample, after: Sample) -> float | None:
    bumps = after.bumps - before.bumps
    return None if bumps == 0 else round((after.renders - before.renders) / bumps, 3)
