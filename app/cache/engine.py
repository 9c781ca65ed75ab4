"""The cache: the one door to the store, for reading, rendering and invalidating.

``Cache.serve`` reads a key (``lookup``), or renders it once for every reader
(``app/cache/flight.py``), or serves a stale body while a background render
replaces it (``app/cache/refresh.py``); invalidations go through
``app/cache/invalidation.py``. Which cache code reaches with ``current_cache()``
is bound here: once per request by ``CacheMiddleware``, or by ``cache.bound()``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar, Token

from app.cache.batch import Batches
from app.cache.context import (
    Binding,
    current_path_tags,
    read_after,
    reads_through,
    reset_binding,
    set_binding,
)
from app.cache.edge import Edge
from app.cache.entry import Freshness
from app.cache.errors import NoActiveCache, StoreUnavailable
from app.cache.flight import Recipe, Renders
from app.cache.holes import Holes
from app.cache.inspect import Inspection, MissNotes, inspection
from app.cache.invalidation import Commit, Invalidations, Listener
from app.cache.metrics import CacheMetrics
from app.cache.refresh import Refresher
from app.cache.scope import RenderScope, current_scope, render_scope
from app.cache.served import CacheStatus, Found, InHandRender, Render, Served, as_bytes
from app.cache.store import Store
from app.cache.tags import PathType
from app.cache.through import ReadThrough
from app.cache.timeline import Timeline
from app.cache.unkept import Unkept
from app.cache.verify import Verifier


class Cache:
    def __init__(
        self,
        store: Store,
        *,
        now: Callable[[], float] = time.time,
        declined: Callable[[BaseException], bool] = lambda exc: False,
        holes: Holes | None = None,
        edges: Sequence[Edge] = (),
        verify_rate: float = 0.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        # How bodies' per-visitor holes are filled (app/cache/holes.py).
        self.holes = holes
        self.now = now  # wall time: timed entries may be shared by many hosts
        # A render that raises one of these declined to answer (a 404): nothing
        # is stored, as for any error, but it is no failure to count or log.
        self.declined = declined
        self.edges = tuple(edges)  # purged by tag after each bump; probed by the inspector
        self.metrics = CacheMetrics(store.stats, store.stamp_count)
        self.invalidations = Invalidations(store, self.metrics, self.edges)
        self.renders = Renders(
            store,
            self.metrics,
            now=now,
            holes=holes,
            declined=declined,
            store_failed=self.invalidations.store_failed,
        )
        self.refresher = Refresher(self.renders, self.metrics, now)
        # The admin page's charts; shared with the cluster under this process's name.
        self.timeline = Timeline(self.metrics, store, now, self.renders.made_here)
        self.batches = Batches(self.store, self.metrics, self.renders, self.invalidations, now)
        # First, before any other listener: no reader may join a render that
        # an invalidation made out of date.
        self.invalidations.on_invalidate(lambda tags: self.renders.forget_inflight())
        self.waiting = 0  # readers waiting for a render in flight (not leading it)
        self.metrics.watch_waiting(lambda: self.waiting)
        self.misses = MissNotes()  # why each key was last not served fresh (the inspector)
        # Renders for visitors this process cannot vouch for (``catch_up``).
        self.through = ReadThrough(
            lambda: Cache(Unkept(store), now=now, declined=declined, holes=holes), self.metrics
        )
        # Sampled HITs rendered again and compared (app/cache/verify.py); None: off.
        self.verifier: Verifier | None = None
        if verify_rate:
            shadow = Cache(Unkept(store), now=now, declined=declined, holes=holes)
            self.verifier = Verifier(
                store,
                self.metrics,
                shadow,
                rate=verify_rate,
                draw=draw,
                now=now,
                declined=declined,
                owes=lambda: self.invalidations.owes,
            )

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
            self.metrics.hit(key)
        elif fresh_only:
            return None
        else:
            self.metrics.stale.inc()
        return found

    async def catch_up(self, clock: int) -> bool:
        """Whether what this process reads reflects a visitor's read-after
        ``clock`` (their last write), once it has heard of it: it waits a
        little for the news. False (counted): read through, keeping nothing."""
        if await self.store.catch_up(clock):
            return True
        self.metrics.read_throughs.inc()
        return False

    def heard(self) -> int:
        """A clock every bump up to which a fresh answer given now reflects."""
        return self.store.heard()

    def mark(self) -> int | None:
        """What fresh answers given now hold on to (``answered_again``): the
        store's mark, or None while a bump is owed or the store cannot tell."""
        return None if self.invalidations.owes else self.store.mark()

    def answered_again(self, key: str, mark: int, expires_at: float | None) -> bool:
        """Whether an answer of ``key`` made from an entry fresh at ``mark`` is
        fresh still: nothing moved and its time is not up. Counted as a HIT,
        with no read."""
        if self.mark() != mark or (expires_at is not None and self.now() >= expires_at):
            return False
        self.metrics.hit(key)
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

        ``compress`` stores the body's compressed encodings with it (HTTP
        responses; a fragment is only ever read as part of another body).
        """
        parent = current_scope()
        if dynamic:
            return await self._bypass(render, parent)
        if reads_through():
            return await self.through.serve(
                key, render, parent, tags=tags, revalidate=revalidate, compress=compress
            )
        recipe = Recipe(render, current_path_tags() + tuple(tags), revalidate, compress)
        try:
            found = await self.lookup(key)
        except StoreUnavailable:
            self.misses.note(key, self.now(), MissNotes.STORE_DOWN)
            return await self._bypass(render, parent)
        found_usable = found is not None and (
            found[1] is Freshness.FRESH or found[0].snapshot >= read_after()
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
            self.refresher.refresh(key, recipe)
            return Served(entry.body, CacheStatus.STALE, entry)

        led = key not in self.renders.inflight
        task = self.renders.start(key, recipe)
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
        # Not kept by the store (moved during the render, too big): its readers
        # get it, and nobody keeps it, an edge included (answers.py).
        refused = rendered.refused
        if refused is not None:
            self.misses.note(key, self.now(), f"{MissNotes.REFUSED}: {refused.value}")
        if led and rendered.here:
            self.metrics.miss(key)
            return Served(rendered.entry.body, CacheStatus.MISS, rendered.entry, refused)
        self.metrics.hit(key)
        return Served(rendered.entry.body, CacheStatus.HIT, rendered.entry, refused)

    async def serve_many(self, keys: list[str], renders: list[InHandRender]) -> list[str]:
        """Many small entries read in one round trip; the missing ones rendered
        here from data already read (``app/cache/batch.py``)."""
        return await self.batches.serve(keys, renders)

    async def _bypass(self, render: Render, parent: RenderScope | None) -> Served:
        if parent is not None:
            parent.dynamic = True
        self.metrics.bypasses.inc()
        with render_scope(None):
            body = await render()
        return Served(as_bytes(body), CacheStatus.BYPASS, None)

    async def inspect(self, key: str) -> Inspection:
        """What is stored under ``key`` (the bumps owed paid first), its tags'
        stamps and its last miss, neither counted nor noted: a cache inspector's rows."""
        await self.invalidations.pay_owed()
        now = self.now()
        found = await self.store.get(key, now)
        stamps = {} if found is None else await self.store.stamps(found[0].tags)
        return inspection(key, found, stamps, self.misses.of(key), now)

    # -- invalidating: see invalidation.py -------------------------------

    async def revalidate_tag(self, tag: str, *, soft: bool = False) -> None:
        await self.invalidations.revalidate_tag(tag, soft=soft)

    async def revalidate_path(self, path: str, type: PathType | None = None) -> None:
        await self.invalidations.revalidate_path(path, type)

    def after_commit(self) -> AbstractAsyncContextManager[Commit]:
        return self.invalidations.after_commit()

    def on_invalidate(self, listener: Listener) -> None:
        self.invalidations.on_invalidate(listener)

    async def apply_commit(self, commit: Commit) -> None:
        """Apply what another process's ``commit`` queued and could not (an outbox
        row); raises ``StoreUnavailable`` or ``EdgeUnavailable`` while it cannot."""
        for tags, soft in commit.groups():
            await self.invalidations.apply(tags, soft=soft)

    @property
    def outlives_process(self) -> bool:
        """Whether what it keeps outlives this process: a shared store's entries,
        an edge's copies. Then so must every invalidation it is given (the app
        keeps each commit in an outbox); otherwise a process that dies takes
        every answer a lost invalidation could have left stale with it."""
        return self.store.shared or bool(self.edges)

    # -- life --------------------------------------------------------------

    def bound(self, binding: Binding | None = None) -> Bound:
        """Make this the cache ``current_cache()`` returns, and ``binding`` (a
        request's, from ``CacheMiddleware``) what the layers read of the request:
        none by default, so a render inside takes no tags of an enclosing request."""
        return Bound(self, binding)

    async def start(self) -> None:
        await self.store.start()
        self.timeline.start()

    async def settle(self) -> None:
        """Wait for every render in flight, background refreshes and verifications included."""
        if self.verifier is not None:
            await self.verifier.settle()
        await self.renders.settle()

    async def close(self) -> None:
        if self.verifier is not None:
            await self.verifier.close()
        self.renders.cancel()
        await self.timeline.close()
        await self.through.close()
        for edge in self.edges:
            await edge.close()
        await self.store.close()


_current: ContextVar[Cache | None] = ContextVar("current_cache", default=None)


def current_cache() -> Cache:
    """The cache bound to this context (by ``CacheMiddleware`` or ``cache.bound()``)."""
    cache = _current.get()
    if cache is None:
        raise NoActiveCache()
    return cache


class Bound:
    """``Cache.bound``'s context manager: a class, not a generator, as it is
    entered on every request."""

    __slots__ = ("_tokens", "binding", "cache")

    def __init__(self, cache: Cache, binding: Binding | None) -> None:
        self.cache = cache
        self.binding = binding
        self._tokens: tuple[Token[Cache | None], Token[Binding | None]] | None = None

    def __enter__(self) -> Binding | None:
        self._tokens = (_current.set(self.cache), set_binding(self.binding))
        return self.binding

    def __exit__(self, *raised: object) -> None:
        assert self._tokens is not None
        cache_token, binding_token = self._tokens
        reset_binding(binding_token)
        _current.reset(cache_token)
