"""The cache engine: read, render once for every reader, store.

The order that keeps a stale body from being stored as fresh::

    snapshot = store.clock()   # 1. before any data is read
    body = await render()      # 2. read the database, render
    store.put(entry)           # 3. refused if a tag moved after the snapshot
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass

from app.cache.context import Binding, bind, bound_or_none, request_tags
from app.cache.edge import Edge
from app.cache.encoding import compress
from app.cache.entry import Entry, Freshness
from app.cache.errors import StoreUnavailable
from app.cache.holes import Holes
from app.cache.invalidation import Commit, Invalidations, Listener
from app.cache.metrics import CacheMetrics
from app.cache.scope import RenderScope, current_scope, render_scope
from app.cache.store import Store
from app.cache.tags import PathType

logger = logging.getLogger(__name__)

Render = Callable[[], Awaitable[str | bytes]]
InHandRender = Callable[[], str]  # renders from data already read: no awaiting
Found = tuple[Entry, Freshness]


class CacheStatus(enum.Enum):
    HIT = "HIT"
    MISS = "MISS"
    STALE = "STALE"
    BYPASS = "BYPASS"


@dataclass(frozen=True, slots=True)
class Served:
    body: bytes
    status: CacheStatus
    entry: Entry | None  # None when bypassed


@dataclass(frozen=True, slots=True)
class _Recipe:
    """How to make the entry of a key: what ``serve`` was asked."""

    render: Render
    tags: tuple[str, ...]
    revalidate: float | None
    compress: bool


@dataclass(frozen=True, slots=True)
class _Rendered:
    entry: Entry
    cacheable: bool  # False when a dynamic part was rendered inside, or the store is down
    here: bool = True  # False when another process rendered it and we read its entry


# How long a process renders under its lease before others stop waiting for it.
LEASE_SECONDS = 5.0
# At most this many background refreshes of stale entries run at once in a
# process: a crawler over 1,500 stale pages must not start 1,500 renders.
MAX_REFRESHES = 8
# A refresh that failed leaves the stale body served; the next try waits
# RETRY_FIRST seconds, twice as long after each failure, up to RETRY_MAX.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0


def _read_after() -> int:
    """The store clock the current visitor's reads must reach (0: any)."""
    binding = bound_or_none()
    return binding.request.read_after if binding and binding.request else 0


class MissNotes:
    """Why each key was last not served fresh from the store: the cache
    inspector's answer to "why was that a miss?". The last ``MAX`` keys."""

    MAX = 1000
    ABSENT = "no entry in the store: never made, evicted, or expired by a bump of one of its tags"
    STALE = "stale (a soft invalidation, or its time was up): served once more, rendered again"
    OLDER_THAN_OWN_WRITE = "stale, and older than this visitor's own write: rendered for them"
    STORE_DOWN = "the store could not be reached: rendered without it"

    def __init__(self) -> None:
        self._notes: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def note(self, key: str, at: float, reason: str) -> None:
        self._notes.pop(key, None)
        self._notes[key] = (at, reason)
        if len(self._notes) > self.MAX:
            self._notes.popitem(last=False)

    def of(self, key: str) -> tuple[float, str] | None:
        """(when, why) of ``key``'s last miss, if it is among the last ones."""
        return self._notes.get(key)


class Cache:
    def __init__(
        self,
        store: Store,
        *,
        now: Callable[[], float] = time.time,
        declined: Callable[[BaseException], bool] = lambda exc: False,
        holes: Holes | None = None,
        edges: Sequence[Edge] = (),
    ) -> None:
        self.store = store
        # How bodies' per-visitor holes are filled (app/cache/holes.py): an
        # entry's stored compressed variants are of its anonymous body.
        self.holes = holes
        self.now = now  # wall time: timed entries may be shared by many hosts
        # A render that raises one of these declined to answer (a 404): nothing
        # is stored, as for any error, but it is no failure to count or log.
        self.declined = declined
        self.metrics = CacheMetrics(store.stats, store.stamp_count)
        self.invalidations = Invalidations(store, self.metrics, edges)
        self._inflight: dict[str, asyncio.Task[_Rendered]] = {}
        self._rendering: set[asyncio.Task[_Rendered]] = set()  # every render task, for close()
        self.invalidations.on_invalidate(self._moved)  # first, before any other listener
        self.waiting = 0  # readers waiting for a render in flight (not leading it)
        self.metrics.watch_waiting(lambda: self.waiting)
        self.max_refreshes = MAX_REFRESHES
        self._refreshes = 0  # background refreshes running
        self._retry: dict[str, tuple[float, float]] = {}  # key -> (not before, last delay)
        self.made_here = f"{socket.gethostname()}:{os.getpid()}"  # Entry.made_by: "<this> #n"
        self._made = itertools.count(1)
        self.misses = MissNotes()  # why each key was last not served fresh (the inspector)

    # -- reading -----------------------------------------------------------

    async def lookup(self, key: str, *, fresh_only: bool = False) -> Found | None:
        """The one read of the store, for the HIT fast path and ``serve`` alike.

        Pays the bumps this process owes first (a page they expire must not
        be served), then reads and counts. None is a miss. ``fresh_only`` is
        the fast path's question, "is there a fresh answer?": a stale entry
        or an unreachable store is None there, uncounted, and left to
        ``serve``, which reads again and counts it. Otherwise an unreachable
        store is counted and raises ``StoreUnavailable``.
        """
        try:
            if self.invalidations.owes:  # rarely: only after the store failed a bump
                await self.invalidations.pay_owed()
            found = await self.store.get(key, self.now())
        except StoreUnavailable as exc:
            if fresh_only:
                return None
            self.invalidations.store_failed("read", exc)
            raise
        if found is None:
            return None
        if found[1] is Freshness.FRESH:
            self.metrics.hits.inc()
        elif fresh_only:
            return None
        else:
            self.metrics.stale.inc()
        return found

    async def peek(self, key: str) -> Found | None:
        """What ``lookup`` would find under ``key`` (the bumps owed paid first),
        neither counted nor noted: what a cache inspector shows."""
        await self.invalidations.pay_owed()
        return await self.store.get(key, self.now())

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        """Each tag's last hard and soft bump (0: none kept), for the inspector."""
        return await self.store.stamps(tags)

    def mark(self) -> int | None:
        """What fresh answers given now hold on to (``answered_again``): the
        store's mark, or None while a bump is owed or the store cannot tell."""
        return None if self.invalidations.owes else self.store.mark()

    def answered_again(self, mark: int, expires_at: float | None) -> bool:
        """Whether an answer made from an entry fresh at ``mark`` is fresh still:
        nothing moved and its time is not up. Counted as a HIT, with no read."""
        if self.mark() != mark or (expires_at is not None and self.now() >= expires_at):
            return False
        self.metrics.hits.inc()
        return True

    async def serve(
        self,
        key: str,
        render: Render,
        *,
        tags: Iterable[str] = (),
        revalidate: float | None = None,
        dynamic: bool = False,
        compress: bool = False,
    ) -> Served:
        """The body under ``key``: from the store, or rendered once for all callers.

        ``compress`` stores the body's compressed variants with it (HTTP
        responses; a fragment is only ever read as part of another body).
        """
        parent = current_scope()
        if dynamic:
            return await self._bypass(render, parent)
        recipe = _Recipe(render, tuple(tags), revalidate, compress)
        try:
            found = await self.lookup(key)
        except StoreUnavailable:
            self.misses.note(key, self.now(), MissNotes.STORE_DOWN)
            return await self._bypass(render, parent)
        found_usable = found is not None and (
            found[1] is Freshness.FRESH or found[0].snapshot >= _read_after()
        )  # a stale body older than this visitor's own write is not for them
        if not found_usable:
            reason = MissNotes.ABSENT if found is None else MissNotes.OLDER_THAN_OWN_WRITE
            self.misses.note(key, self.now(), reason)
        if found is not None and found_usable:
            entry, freshness = found
            if parent is not None:
                parent.absorb(entry)
            if freshness is Freshness.FRESH:
                return Served(entry.body, CacheStatus.HIT, entry)
            if parent is not None:
                parent.shorten(self.now())  # it holds an old body: stale at once
            self.misses.note(key, self.now(), MissNotes.STALE)
            self._refresh(key, recipe)
            return Served(entry.body, CacheStatus.STALE, entry)

        led = key not in self._inflight
        task = self._start_render(key, recipe)
        joined = 0 if led else 1  # counted while it waits on another's render
        self.waiting += joined
        try:
            rendered = await asyncio.shield(task)
        finally:
            self.waiting -= joined
        if parent is not None:
            parent.absorb(rendered.entry)
            # A render joined in flight may have read its data before this
            # scope's snapshot; the enclosing entry is only as recent as it.
            parent.snapshot = min(parent.snapshot, rendered.entry.snapshot)
            parent.dynamic = parent.dynamic or not rendered.cacheable
        if not rendered.cacheable:
            self.metrics.bypasses.inc()
            return Served(rendered.entry.body, CacheStatus.BYPASS, None)
        if led and rendered.here:
            self.metrics.misses.inc()
            return Served(rendered.entry.body, CacheStatus.MISS, rendered.entry)
        self.metrics.hits.inc()
        return Served(rendered.entry.body, CacheStatus.HIT, rendered.entry)

    async def serve_many(self, keys: list[str], renders: list[InHandRender]) -> list[str]:
        """Many small entries read in one round trip; the missing ones rendered here.

        For the parts of a render whose data the enclosing render has read
        already (a list's rows): each ``renders[i]`` makes ``keys[i]``'s body
        from that data, without reading anything. Their entries take the
        enclosing render's snapshot, taken before that data was read, and
        are stored together; every part hands its tags up, as ``fragment``
        does. Outside a render there is no such snapshot: nothing is cached.
        """
        parent = current_scope()
        if parent is None:  # an action's answer, say: rendered for it, never stored
            self.metrics.bypasses.inc(len(keys))
            parts = zip(keys, renders, strict=True)
            return [self._render_part(key, render, 0).body.decode() for key, render in parts]
        try:
            found = await self.lookup_many(keys)
        except StoreUnavailable:
            parent.dynamic = True
            found = [None] * len(keys)
        bodies: list[str] = []
        made: list[Entry] = []
        for key, render, hit in zip(keys, renders, found, strict=True):
            if hit is not None:
                entry = hit[0]
            else:
                self.metrics.misses.inc()
                entry = self._render_part(key, render, parent.snapshot)
                made.append(entry)
            parent.absorb(entry)
            bodies.append(entry.body.decode())
        if made and not parent.dynamic:
            try:
                await self.store.put_many(made)
            except StoreUnavailable as exc:
                self.invalidations.store_failed("render", exc)
        return bodies

    async def lookup_many(self, keys: list[str]) -> list[Found | None]:
        """``lookup`` of many keys in one round trip (a stale one counts as missing)."""
        try:
            await self.invalidations.pay_owed()
            found = await self.store.get_many(keys, self.now())
        except StoreUnavailable as exc:
            self.invalidations.store_failed("read", exc)
            raise
        fresh = [hit if hit is not None and hit[1] is Freshness.FRESH else None for hit in found]
        self.metrics.hits.inc(sum(hit is not None for hit in fresh))
        return fresh

    def _render_part(self, key: str, render: InHandRender, snapshot: int) -> Entry:
        """One part, in a scope of its own: its template sees its own tags."""
        scope = RenderScope(snapshot=snapshot)
        self.metrics.renders.inc()
        with self.metrics.render_seconds.time(), render_scope(scope):
            body = render()
        return Entry(
            key=key,
            body=body.encode(),
            tags=frozenset(scope.tags),
            snapshot=snapshot,
            created_at=self.now(),
            made_by=self._render_name(),
        )

    async def _bypass(self, render: Render, parent: RenderScope | None) -> Served:
        if parent is not None:
            parent.dynamic = True
        self.metrics.bypasses.inc()
        with render_scope(None):
            body = await render()
        return Served(_as_bytes(body), CacheStatus.BYPASS, None)

    def _refresh(self, key: str, recipe: _Recipe) -> None:
        """Render a stale entry again in the background, unless one such render
        runs already, the last one failed too recently, or too many run."""
        if key in self._inflight:
            return
        retry = self._retry.get(key)
        if retry is not None and self.now() < retry[0]:
            return
        if self._refreshes >= self.max_refreshes:
            self.metrics.refreshes_deferred.inc()
            return
        self._refreshes += 1
        self._start_render(key, recipe).add_done_callback(lambda done: self._refreshed(key, done))

    def _refreshed(self, key: str, task: asyncio.Task[_Rendered]) -> None:
        self._refreshes -= 1
        if not task.cancelled() and task.exception() is None:
            self._retry.pop(key, None)
            return
        last = self._retry.get(key, (0.0, RETRY_FIRST / 2))[1]
        delay = min(RETRY_MAX, last * 2)
        self._retry[key] = (self.now() + delay, delay)

    def _start_render(self, key: str, recipe: _Recipe) -> asyncio.Task[_Rendered]:
        """Start the one render of ``key`` (or join the one in flight)."""
        task = self._inflight.get(key)
        if task is not None:
            return task
        task = asyncio.create_task(self._render(key, recipe))
        self._inflight[key] = task
        self._rendering.add(task)
        task.add_done_callback(lambda done: self._render_done(key, done))
        return task

    def _render_done(self, key: str, task: asyncio.Task[_Rendered]) -> None:
        self._rendering.discard(task)
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled():
            return
        # Reading the exception also marks it retrieved for background renders
        # nobody awaits; waiters still get it raised through their shield.
        error = task.exception()
        if error is not None and not self.declined(error):
            self.metrics.render_errors.inc()
            logger.error("render of %r failed", key, exc_info=error)

    async def _render(self, key: str, recipe: _Recipe) -> _Rendered:
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
                return _Rendered(elsewhere, cacheable=True, here=False)
            entry, dynamic = await self._render_entry(key, recipe, snapshot)
            if not dynamic:
                await self.store.put(entry)
            return _Rendered(entry, cacheable=not dynamic)
        except StoreUnavailable as exc:
            self.invalidations.store_failed("render", exc)
            if entry is None:  # lost before the render: render it, uncached
                entry, _ = await self._render_entry(key, recipe, snapshot=0)
            return _Rendered(entry, cacheable=False)
        finally:
            if lease is not None:
                with contextlib.suppress(StoreUnavailable):
                    await self.store.release(key, lease)

    async def _render_entry(self, key: str, recipe: _Recipe, snapshot: int) -> tuple[Entry, bool]:
        """Run the render in its own scope: the entry, and whether it holds a dynamic part."""
        scope = RenderScope(snapshot=snapshot)
        scope.add_tags(request_tags() + recipe.tags)
        started = self.now()
        if recipe.revalidate is not None:
            scope.shorten(started + recipe.revalidate)
        self.metrics.renders.inc()
        with self.metrics.render_seconds.time(), render_scope(scope):
            body = _as_bytes(await recipe.render())
        entry = Entry(
            key=key,
            body=body,
            encoded=compress(self._public(body)) if recipe.compress else (),
            tags=frozenset(scope.tags),
            snapshot=scope.snapshot,
            created_at=started,
            revalidate=None if scope.expires_at is None else scope.expires_at - started,
            made_by=self._render_name(),
        )
        return entry, scope.dynamic

    def _render_name(self) -> str:
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

    # -- invalidating: see invalidation.py -------------------------------

    async def revalidate_tag(self, tag: str, *, stale: bool = False) -> None:
        await self.invalidations.revalidate_tag(tag, stale=stale)

    async def revalidate_path(self, path: str, type: PathType | None = None) -> None:
        await self.invalidations.revalidate_path(path, type)

    def after_commit(self) -> AbstractAsyncContextManager[Commit]:
        return self.invalidations.after_commit()

    def on_invalidate(self, listener: Listener) -> None:
        self.invalidations.on_invalidate(listener)

    def _moved(self, tags: frozenset[str]) -> None:
        # A render already in flight may have read the data this invalidation
        # replaces: it still answers the readers that joined it, but nobody
        # who arrives from now on may join it (it could not be stored anyway).
        self._inflight.clear()

    # -- life --------------------------------------------------------------

    def bound(self) -> AbstractContextManager[Binding]:
        """Make this the cache ``current_cache()`` returns, outside a request."""
        return bind(Binding(self))

    async def start(self) -> None:
        await self.store.start()

    async def settle(self) -> None:
        """Wait for every render in flight, background refreshes included."""
        while self._rendering:
            await asyncio.gather(*self._rendering, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._rendering):
            task.cancel()
        for edge in self.invalidations.edges:
            await edge.close()
        await self.store.close()


def _as_bytes(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body
