"""Background refreshes of stale entries, bounded and backed off.

A stale entry is served at once while one render replaces it in the
background. At most ``MAX_REFRESHES`` run at once in a process (a crawler
over 1,500 stale pages must not start 1,500 renders); one that failed leaves
the stale body served, and the next try waits twice as long as the last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.cache.flight import Recipe, Rendered, Renders
from app.cache.metrics import CacheMetrics

MAX_REFRESHES = 8
# The first retry waits RETRY_FIRST seconds, twice as long after each failure,
# up to RETRY_MAX.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0


class Refresher:
    def __init__(self, renders: Renders, metrics: CacheMetrics, now: Callable[[], float]) -> None:
        self.renders = renders
        self.metrics = metrics
        self.now = now
        self.max_refreshes = MAX_REFRESHES
        self._running = 0
        self._retry: dict[str, tuple[float, float]] = {}  # key -> (not before, last delay)

    def refresh(self, key: str, recipe: Recipe) -> None:
        """Render a stale entry again in the background, unless one such render
        runs already, the last one failed too recently, or too many run."""
        if key in self.renders.inflight:
            return
        retry = self._retry.get(key)
        if retry is not None and self.now() < retry[0]:
            return
        if self._running >= self.max_refreshes:
            self.metrics.refreshes_deferred.inc()
            return
        self._running += 1
        self.renders.start(key, recipe).add_done_callback(lambda done: self._done(key, done))

    def _done(self, key: str, task: asyncio.Task[Rendered]) -> None:
        self._running -= 1
        if not task.cancelled() and task.exception() is None:
            self._retry.pop(key, None)
            return
        last = self._retry.get(key, (0.0, RETRY_FIRST / 2))[1]
        delay = min(RETRY_MAX, last * 2)
        self._retry[key] = (self.now() + delay, delay)
