"""The last hour of the cache's figures, sampled: what its admin page draws.

Every ``SAMPLE_SECONDS`` a background task copies this process's cumulative
figures (``CacheMetrics.figures``, the store's bytes) into a ring of an
hour's samples. With a store shared by many processes (its ``board``), it
also posts them there and keeps a second ring of the whole cluster's: the
sum of every live process's latest figures. ``series`` turns consecutive
samples into rates per interval, with a last point for "now", so a chart
moves as soon as something happens instead of at the next sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from app.cache.errors import StoreUnavailable
from app.cache.metrics import CONSISTENT_BUCKETS, CONSISTENT_STAGES, CacheMetrics
from app.cache.store import Store

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 10.0
SPAN_SECONDS = 3600.0
POSTED_FOR = 3  # samples a process's posted figures outlive it by
TOP = 20  # tags and entries named in the "most" tables (a write moves a dozen tables' own)


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
    """An hour of samples of a cache's figures, and the series drawn from them."""

    def __init__(
        self,
        metrics: CacheMetrics,
        store: Store,
        now: Callable[[], float],
        name: str,
        every: float = SAMPLE_SECONDS,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.now = now
        self.name = name  # this process's, on the board
        self.every = every
        span = int(SPAN_SECONDS / every)
        self.samples: deque[Sample] = deque([self.sample()], maxlen=span)
        self.cluster: deque[tuple[Sample, int]] = deque(maxlen=span)  # and how many processes
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> Sample:
        figures, stats = self.metrics.figures, self.store.stats()
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
            here = self.sample()
            self.samples.append(here)
            if self.store.board is not None:
                try:
                    await self.share(here)
                except StoreUnavailable as exc:  # the figures wait; the cache goes on
                    logger.info("cache figures not shared this time: %s", exc)

    async def share(self, here: Sample) -> None:
        """Post ``here`` on the board, then add up every live process's latest."""
        assert self.store.board is not None
        await self.store.board.post(self.name, json.dumps(asdict(here)), self.every * POSTED_FOR)
        posted = [Sample(**json.loads(text)) for text in (await self.store.board.read()).values()]
        self.cluster.append((_sum(posted, at=here.at), len(posted)))

    def series(self, *, cluster: bool = False) -> dict[str, Any]:
        """The charts' data (JSON): per interval over the hour, and now. The
        cluster's: per interval between its samples (no live last point)."""
        if cluster:
            samples = [sample for sample, _ in self.cluster]
            processes = self.cluster[-1][1] if self.cluster else 0
        else:
            samples, processes = [*self.samples, self.sample()], 1
        pairs = list(itertools.pairwise(samples))
        routes = sorted({route for s in samples for route in (*s.hits, *s.misses)})
        first, last = (samples[0], samples[-1]) if samples else (_EMPTY, _EMPTY)
        figures = self.metrics.figures
        return {
            "scope": "cluster" if cluster else "process",
            "processes": processes,
            "hour": {  # totals since the oldest sample, for the tables
                "hits": {route: _gain(first.hits, last.hits, route) for route in routes},
                "misses": {route: _gain(first.misses, last.misses, route) for route in routes},
                "renders": max(0, last.renders - first.renders),
                "invalidations": max(0, last.bumps - first.bumps),
            },
            "at": [after.at for _, after in pairs],
            "hit_ratio": {route: [_ratio(b, a, route) for b, a in pairs] for route in routes},
            "renders_per_invalidation": [_per_bump(before, after) for before, after in pairs],
            "bytes": [after.bytes for _, after in pairs],
            "bound": last.bound,
            # These are this process's alone: bounded tallies do not add up across processes.
            "consistent": {
                "stages": list(CONSISTENT_STAGES),
                "le": list(CONSISTENT_BUCKETS),
                "buckets": self.metrics.consistent_counts(),
            },
            "most_invalidated": figures.invalidated.top(TOP),
            "most_rendered": figures.renders.top(TOP),
        }


_EMPTY = Sample(at=0.0, hits={}, misses={}, renders=0, bumps=0, bytes=0, bound=0)


def _sum(samples: Iterable[Sample], *, at: float) -> Sample:
    """The cluster's figures: every process's added up (one store: its bytes once)."""
    hits: dict[str, int] = {}
    misses: dict[str, int] = {}
    renders = bumps = size = bound = 0
    for sample in samples:
        for route, n in sample.hits.items():
            hits[route] = hits.get(route, 0) + n
        for route, n in sample.misses.items():
            misses[route] = misses.get(route, 0) + n
        renders, bumps = renders + sample.renders, bumps + sample.bumps
        size, bound = max(size, sample.bytes), max(bound, sample.bound)
    return Sample(at, hits, misses, renders, bumps, size, bound)


def _gain(before: dict[str, int], after: dict[str, int], route: str) -> int:
    # A process that left (or restarted) takes its counts with it: never below 0.
    return max(0, after.get(route, 0) - before.get(route, 0))


def _ratio(before: Sample, after: Sample, route: str) -> float | None:
    hits = _gain(before.hits, after.hits, route)
    misses = _gain(before.misses, after.misses, route)
    return None if hits + misses == 0 else round(hits / (hits + misses), 4)


def _per_bump(before: Sample, after: Sample) -> float | None:
    bumps = after.bumps - before.bumps
    return None if bumps <= 0 else round(max(0, after.renders - before.renders) / bumps, 3)
