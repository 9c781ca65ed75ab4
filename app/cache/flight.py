"""Single flight: one render of a key at a time, in this process and in the cluster.

Concurrent misses of one key join the render in flight; across processes a
lease in the store (``Store.acquire``) lets one process render while the
others wait for its entry. The order that keeps a stale body from being
stored as fresh::

    snapshot = store.clock()   # 1. before any data is read
    body = await render()      # 2. read the database, render
    store.put(entry)           # 3. refused if a tag moved after the snapshot
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from app.cache.encoding import compress
from app.cache.entry import Entry, Freshness
from app.cache.errors import StoreUnavailable
from app.cache.holes import Holes
from app.cache.metrics import CacheMetrics
from app.cache.scope import RenderScope, render_scope
from app.cache.served import InHandRender, Render, as_bytes
from app.cache.store import Put, Store

logger = logging.getLogger(__name__)

# How long a process renders under its lease before others stop waiting for it.
LEASE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to make the entry of a key: what ``Cache.serve`` was asked."""

    render: Render
    tags: tuple[str, ...]  # the request's path tags, then the caller's
    revalidate: float | None
    compress: bool


@dataclass(frozen=True, slots=True)
class Rendered:
    entry: Entry
    cacheable: bool  # False when a dynamic part was rendered inside, or the store is down
    here: bool = True  # False when another process rendered it and we read its entry
    # Why the store did not keep it (None: it did, or it was never offered):
    # then no cache may keep the answer, an edge included.
    refused: Put | None = None


class Renders:
    """The renders of one process: who leads each key's, and who waits for it."""

    def __init__(
        self,
        store: Store,
        metrics: CacheMetrics,
        *,
        now: Callable[[], float],
        holes: Holes | None,
        declined: Callable[[BaseException], bool],
        store_failed: Callable[[str, StoreUnavailable], None],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.now = now
        # An entry's stored encodings are of its anonymous body.
        self.holes = holes
        self.declined = declined
        self.store_failed = store_failed
        self.inflight: dict[str, asyncio.Task[Rendered]] = {}
        self.running: set[asyncio.Task[Rendered]] = set()  # every render task, for close()
        self.made_here = f"{socket.gethostname()}:{os.getpid()}"  # Entry.made_by: "<this> #n"
        self._made = itertools.count(1)

    def start(self, key: str, recipe: Recipe) -> asyncio.Task[Rendered]:
        """Start the one render of ``key`` (or join the one in flight)."""
        task = self.inflight.get(key)
        if task is not None:
            return task
        task = asyncio.create_task(self._render(key, recipe))
        self.inflight[key] = task
        self.running.add(task)
        task.add_done_callback(lambda done: self._done(key, done))
        return task

    def forget_inflight(self) -> None:
        """After an invalidation: a render already in flight may have read the
        data it replaces. It still answers the readers that joined it, but
        nobody who arrives from now on may join it (it could not be stored)."""
        self.inflight.clear()

    def render_part(self, key: str, render: InHandRender, snapshot: int) -> Entry:
        """One part of an enclosing render, in a scope of its own: its template
        sees its own tags."""
        scope = RenderScope(snapshot=snapshot)
        self.metrics.rendered(key)
        with self.metrics.render_seconds.time(), render_scope(scope):
            body = render()
        return Entry(
            key=key,
            body=body.encode(),
            tags=frozenset(scope.tags),
            snapshot=snapshot,
            created_at=self.now(),
            made_by=self._name(),
        )

    async def settle(self) -> None:
        """Wait for every render in flight, background refreshes included."""
        while self.running:
            await asyncio.gather(*self.running, return_exceptions=True)

    def cancel(self) -> None:
        for task in list(self.running):
            task.cancel()

    def _done(self, key: str, task: asyncio.Task[Rendered]) -> None:
        self.running.discard(task)
        if self.inflight.get(key) is task:
            del self.inflight[key]
        if task.cancelled():
            return
        # Reading the exception also marks it retrieved for background renders
        # nobody awaits; waiters still get it raised through their shield.
        error = task.exception()
        if error is not None and not self.declined(error):
            self.metrics.render_errors.inc()
            logger.error("render of %r failed", key, exc_info=error)

    async def _render(self, key: str, recipe: Recipe) -> Rendered:
        lease: str | None = None
        entry: Entry | None = None
        try:
            snapshot = await self.store.clock()
            lease = await self.store.acquire(key)
            if lease is None:
                elsewhere = await self._rendered_elsewhere(key)
            else:
                # Another process may have stored it, and let its lease go,
                # between our miss and our lease: then there is nothing to do.
                elsewhere = await self._fresh(key)
            if elsewhere is not None:
                return Rendered(elsewhere, cacheable=True, here=False)
            entry, dynamic = await self._render_entry(key, recipe, snapshot)
            if dynamic:
                return Rendered(entry, cacheable=False)
            put = await self.store.put(entry)
            return Rendered(entry, cacheable=True, refused=None if put else put)
        except StoreUnavailable as exc:
            self.store_failed("render", exc)
            if entry is None:  # lost before the render: render it, uncached
                entry, _ = await self._render_entry(key, recipe, snapshot=0)
            return Rendered(entry, cacheable=False, refused=Put.STORE_DOWN)
        finally:
            if lease is not None:
                with contextlib.suppress(StoreUnavailable):
                    await self.store.release(key, lease)

    async def _render_entry(self, key: str, recipe: Recipe, snapshot: int) -> tuple[Entry, bool]:
        """Run the render in its own scope: the entry, and whether it holds a dynamic part."""
        scope = RenderScope(snapshot=snapshot)
        scope.add_tags(recipe.tags)
        started = self.now()
        if recipe.revalidate is not None:
            scope.shorten(started + recipe.revalidate)
        self.metrics.rendered(key)
        with self.metrics.render_seconds.time(), render_scope(scope):
            body = as_bytes(await recipe.render())
        entry = Entry(
            key=key,
            body=body,
            # Made now for every process of a shared store; else on first ask (answers.py).
            encoded=compress(self._public(body)) if recipe.compress and self.store.shared else (),
            compressible=recipe.compress,
            tags=frozenset(scope.tags),
            snapshot=scope.snapshot,
            created_at=started,
            revalidate=None if scope.expires_at is None else scope.expires_at - started,
            made_by=self._name(),
        )
        return entry, scope.dynamic

    def _name(self) -> str:
        return f"{self.made_here} #{next(self._made)}"

    def _public(self, body: bytes) -> bytes:
        return body if self.holes is None else self.holes.public(body)

    async def _rendered_elsewhere(self, key: str) -> Entry | None:
        """Wait for the process holding the lease of ``key`` to store it.

        None if it gives up (its render failed, or was refused as stale):
        then this process renders it itself.
        """
        delay, waited = 0.002, 0.0
        while waited < LEASE_SECONDS:
            await asyncio.sleep(delay)  # another process: there is no event to await
            waited += delay
            delay = min(delay * 2, 0.05)
            if not await self.store.leased(key):
                # Read after the lease is gone: it may have stored it just before.
                return await self._fresh(key)
            entry = await self._fresh(key)
            if entry is not None:
                return entry
        return None

    async def _fresh(self, key: str) -> Entry | None:
        found = await self.store.get(key, self.now())  # uncounted: not a reader's lookup
        return found[0] if found is not None and found[1] is Freshness.FRESH else None
