"""Many fragments of one kind (a list's rows) read in one round trip.

For the parts of a render whose data the enclosing render has read already:
only the missing ones are rendered, from that data, and stored together.
"""

from __future__ import annotations

from collections.abc import Callable

from app.cache.entry import Entry, Freshness
from app.cache.errors import StoreUnavailable
from app.cache.flight import Renders
from app.cache.invalidation import Invalidations
from app.cache.metrics import CacheMetrics
from app.cache.scope import current_scope
from app.cache.served import Found, InHandRender
from app.cache.store import Store


class Batches:
    def __init__(
        self,
        store: Store,
        metrics: CacheMetrics,
        renders: Renders,
        invalidations: Invalidations,
        now: Callable[[], float],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.renders = renders
        self.invalidations = invalidations
        self.now = now

    async def serve(self, keys: list[str], renders: list[InHandRender]) -> list[str]:
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
            return [self.renders.render_part(key, render, 0).body.decode() for key, render in parts]
        try:
            found = await self._lookup_many(keys)
        except StoreUnavailable:
            parent.dynamic = True
            found = [None] * len(keys)
        bodies: list[str] = []
        made: list[Entry] = []
        for key, render, hit in zip(keys, renders, found, strict=True):
            if hit is not None:
                entry = hit[0]
            else:
                self.metrics.miss(key)
                entry = self.renders.render_part(key, render, parent.snapshot)
                made.append(entry)
            parent.absorb(entry)
            bodies.append(entry.body.decode())
        if made and not parent.dynamic:
            try:
                await self.store.put_many(made)
            except StoreUnavailable as exc:
                self.invalidations.store_failed("render", exc)
        return bodies

    async def _lookup_many(self, keys: list[str]) -> list[Found | None]:
        """``lookup`` of many keys in one round trip (a stale one counts as missing)."""
        try:
            await self.invalidations.pay_owed()
            found = await self.store.get_many(keys, self.now())
        except StoreUnavailable as exc:
            self.invalidations.store_failed("read", exc)
            raise
        fresh = [hit if hit is not None and hit[1] is Freshness.FRESH else None for hit in found]
        for key, hit in zip(keys, fresh, strict=True):
            if hit is not None:
                self.metrics.hit(key)
        return fresh
