"""Sampled verification: a HIT rendered again in the background, and compared.

The oracle of the tests (the same app with the cache off) run in production
on a sample. With ``Cache(verify_rate=r)``, a fraction ``r`` of the cacheable
GETs is *sampled*; a sampled one that turns out a HIT is rendered again here,
off the request's path, and never stored. If the bodies differ while none of
the entry's tags moved since its snapshot, the entry depends on something it
did not record: a *divergence*, counted in ``cache_divergence_total{route}``,
logged with the URL, the entry's tags and the fresh render's, and kept among
the last ``KEEP`` for the cache inspector.

Where it hooks in, and why there. Only ``@cached`` knows how to render a URL
again (its endpoint and the request) and its route (a bounded label); the
HIT fast path in ``CacheMiddleware`` answers before routing and knows
neither. So the middleware draws once per GET, before its read: a sampled
request skips the fast path and is routed; ``@cached`` reads through
``Cache.serve`` (one read, counted once), answers the HIT as usual, and hands
it here. Off (the default), ``Cache.verifier`` is None: one attribute check
on the fast path. A repeat (``RepeatsMiddleware``) is never sampled; it is
the answer of a HIT already given, from an entry a sample may check.

How it renders. As a MISS would (``Cache.serve``), through a second ``Cache``
over an ``Unkept`` view of the store (``app/cache/unkept.py``): every
fragment inside is rendered too (a stored one would hide the difference),
every tag is collected the ordinary way, nothing is kept. The body compared is the
shared one (holes unfilled), never a visitor's.

When a difference is no divergence:

- a tag of the entry was stamped after its snapshot (a write moved it while
  this ran). The stamps are read ``grace`` seconds after a difference is
  seen, so that a write committed before the render, whose bump follows its
  COMMIT, is not taken for one; nor while this process owes a bump;
- a timed entry (it may lag its data by its lifetime: it is not rendered
  again), or a fresh render holding a dynamic part (it is not compared).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from app.cache.context import Binding
from app.cache.entry import Entry
from app.cache.metrics import CacheMetrics
from app.cache.scope import render_scope
from app.cache.served import Render, Served
from app.cache.store import Store

logger = logging.getLogger(__name__)

MAX_VERIFICATIONS = 4  # running at once in a process; a sample beyond is dropped
GRACE_SECONDS = 1.0  # the contract's bound on a bump following its COMMIT
KEEP = 20  # the last divergences a process keeps for the inspector
EXCERPT = 120  # characters of each body shown around their first difference

# Outcomes (the label of cache_verifications_total).
SAME, DIVERGED, MOVED, SKIPPED, DROPPED, FAILED = (
    "same",
    "diverged",
    "moved",
    "skipped",
    "dropped",
    "failed",
)


class Shadow(Protocol):
    """The second cache a verification renders through (``Cache`` over ``Unkept``)."""

    def bound(self, binding: Binding | None = None) -> AbstractContextManager[Binding | None]: ...

    async def serve(self, key: str, render: Render) -> Served: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Check:
    """A sampled HIT: what was served, and how to render it again."""

    url: str
    route: str  # the route's template (/tickets/{ticket_id}): a bounded label
    entry: Entry
    render: Render  # the endpoint, with its request
    path_tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Divergence:
    """A fresh render that differed from a fresh entry: a dependency not recorded."""

    at: float
    url: str
    route: str
    key: str
    made_by: str  # which render made the entry
    entry_tags: tuple[str, ...]
    fresh_tags: tuple[str, ...]
    cached: str  # each body around their first difference
    fresh: str

    @property
    def unrecorded(self) -> tuple[str, ...]:
        """What the fresh render depends on and the entry did not: where to look first."""
        return tuple(sorted(set(self.fresh_tags) - set(self.entry_tags)))


class Verifier:
    def __init__(
        self,
        store: Store,
        metrics: CacheMetrics,
        shadow: Shadow,
        *,
        rate: float,
        draw: Callable[[], float],
        now: Callable[[], float],
        declined: Callable[[BaseException], bool],
        owes: Callable[[], bool],
    ) -> None:
        if not 0 < rate <= 1:
            raise ValueError(f"the verify rate must be above 0 and at most 1, got {rate}")
        self.store = store
        self.metrics = metrics
        self.shadow = shadow
        self.rate = rate
        self.draw = draw  # uniform in [0, 1): random.random, or a test's
        self.now = now
        self.declined = declined  # a render that declined (404) answers differently
        self.owes = owes
        self.max_running = MAX_VERIFICATIONS
        self.grace = GRACE_SECONDS
        self.running: set[asyncio.Task[None]] = set()
        self.found: deque[Divergence] = deque(maxlen=KEEP)

    def sampled(self) -> bool:
        return self.draw() < self.rate

    def submit(self, check: Check) -> None:
        """Render ``check`` again in the background, unless too many run."""
        if check.entry.revalidate is not None:
            self.metrics.verifications.labels(SKIPPED).inc()
            return
        if len(self.running) >= self.max_running:
            self.metrics.verifications.labels(DROPPED).inc()
            return
        task = asyncio.create_task(self._verify(check))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    def divergences(self) -> list[Divergence]:
        """The last ones found in this process, newest first."""
        return list(reversed(self.found))

    async def settle(self) -> None:
        while self.running:
            await asyncio.gather(*self.running, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self.running):
            task.cancel()
        await self.settle()
        await self.shadow.close()

    async def _verify(self, check: Check) -> None:
        try:
            outcome = await self._outcome(check)
        except Exception:
            logger.warning("could not verify %s", check.url, exc_info=True)
            outcome = FAILED
        self.metrics.verifications.labels(outcome).inc()

    async def _outcome(self, check: Check) -> str:
        fresh: bytes | BaseException
        tags: frozenset[str] = frozenset()
        # The render a MISS would run, with the request's path tags, in a scope of its own.
        with self.shadow.bound(Binding(path_tags=check.path_tags)), render_scope(None):
            try:
                served = await self.shadow.serve(check.entry.key, check.render)
            except Exception as exc:
                if not self.declined(exc):
                    raise
                fresh = exc  # a 404 where the entry holds a page
            else:
                if served.entry is None:  # a dynamic part inside: it may differ each time
                    return SKIPPED
                fresh, tags = served.entry.body, served.entry.tags
        if fresh == check.entry.body:
            return SAME
        if self.grace:
            await asyncio.sleep(self.grace)  # let a bump owed by an earlier COMMIT land
        if self.owes() or await self._moved(check.entry):
            return MOVED
        self._diverged(check, fresh, tags)
        return DIVERGED

    async def _moved(self, entry: Entry) -> bool:
        stamps = await self.store.stamps(entry.tags)
        return any(max(stamp) > entry.snapshot for stamp in stamps.values())

    def _diverged(self, check: Check, fresh: bytes | BaseException, tags: frozenset[str]) -> None:
        entry = check.entry
        cached_text, fresh_text = excerpts(entry.body, fresh)
        found = Divergence(
            at=self.now(),
            url=check.url,
            route=check.route,
            key=entry.key,
            made_by=entry.made_by,
            entry_tags=tuple(sorted(entry.tags)),
            fresh_tags=tuple(sorted(tags)),
            cached=cached_text,
            fresh=fresh_text,
        )
        self.found.append(found)
        self.metrics.divergences.labels(check.route).inc()
        logger.warning(
            "cache divergence at %s (route %s, key %r, made by %s): no tag of the entry moved "
            "since its snapshot %d, yet a fresh render differs. Entry tags: %s. Fresh render "
            "tags: %s. Not in the entry: %s",
            found.url,
            found.route,
            found.key,
            found.made_by,
            entry.snapshot,
            ", ".join(found.entry_tags),
            ", ".join(found.fresh_tags),
            ", ".join(found.unrecorded) or "none",
        )


def excerpts(cached: bytes, fresh: bytes | BaseException) -> tuple[str, str]:
    """Each body from a little before their first difference (a declined
    render: what it raised)."""
    if isinstance(fresh, BaseException):
        return cached[:EXCERPT].decode(errors="replace"), f"declined: {fresh!r}"
    at = next(
        (i for i, (a, b) in enumerate(zip(cached, fresh, strict=False)) if a != b),
        min(len(cached), len(fresh)),
    )
    start = max(0, at - EXCERPT // 3)
    return (
        cached[start : start + EXCERPT].decode(errors="replace"),
        fresh[start : start + EXCERPT].decode(errors="replace"),
    )
