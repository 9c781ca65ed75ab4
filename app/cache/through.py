"""Reading through: a visitor whose last write this process has not heard of yet.

``Cache.catch_up`` waits a little for the news of their write; when it does
not come, their request uses nothing this process keeps. Each page is then
rendered as a MISS would be (every part in its own scope, collecting its
tags, so a live fragment still names them), by a second cache over a view of
the store that reads and keeps nothing (``Unkept``), under a key of its own
(it joins no render in flight), and answered as a bypass, which no edge keeps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from app.cache.context import Binding, current_path_tags
from app.cache.metrics import CacheMetrics
from app.cache.scope import RenderScope
from app.cache.served import CacheStatus, Render, Served


class Renderer(Protocol):
    """What reading through needs of the second cache (a ``Cache``)."""

    def bound(self, binding: Binding | None = None) -> AbstractContextManager[Binding | None]: ...

    async def serve(
        self,
        key: str,
        render: Render,
        *,
        tags: Iterable[str] = (),
        revalidate: float | None = None,
        compress: bool = False,
    ) -> Served: ...

    async def close(self) -> None: ...


class ReadThrough:
    """Renders for visitors this process cannot vouch for; its cache made on first use."""

    def __init__(self, make: Callable[[], Renderer], metrics: CacheMetrics) -> None:
        self.make = make
        self.metrics = metrics
        self.cache: Renderer | None = None
        self._numbers = itertools.count(1)

    async def serve(
        self,
        key: str,
        render: Render,
        parent: RenderScope | None,
        *,
        tags: Iterable[str],
        revalidate: float | None,
        compress: bool,
    ) -> Served:
        if self.cache is None:
            self.cache = self.make()
        if parent is not None:
            parent.dynamic = True
        self.metrics.bypasses.inc()
        alone = f"{key} #{next(self._numbers)}"  # its own key: no render to join
        with self.cache.bound(Binding(path_tags=current_path_tags())):
            served = await self.cache.serve(
                alone, render, tags=tags, revalidate=revalidate, compress=compress
            )
        return Served(served.body, CacheStatus.BYPASS, None)

    async def close(self) -> None:
        if self.cache is not None:
            await self.cache.close()
