"""Invalidation: bump tags now, or right after COMMIT, and tell who listens.

Inside ``after_commit()`` (which wraps the database transaction) calls are
queued and applied once the block completes; an exception drops them. A bump
the store cannot take (it is down) is owed: applied before this process
reads from the store again, so it never serves what the bump expires.

What a transaction queued is in the ``Commit`` that ``after_commit()`` yields,
so that the app can write it in the same transaction (an outbox, which any
process can apply if this one cannot: ``apply``), and learn whether it was
applied here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

from app.cache.context import bound_or_none
from app.cache.errors import EdgeUnavailable, RevalidateDuringRender, StoreUnavailable
from app.cache.metrics import CacheMetrics
from app.cache.scope import current_scope
from app.cache.store import Store
from app.cache.tags import PathType, path_tag_for, validate_tag

logger = logging.getLogger(__name__)

Listener = Callable[[frozenset[str]], None]

# What listeners hear when invalidations may have been missed: assume all moved.
EVERYTHING = frozenset({"*"})


class Purger(Protocol):
    """A cache in front of the app that is purged by tag after each bump
    (``app/cache/edge.py``'s ``Edge``); raises ``EdgeUnavailable``."""

    async def purge(self, tags: frozenset[str], *, soft: bool) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Commit:
    """The invalidations of one transaction: queued inside, applied after COMMIT."""

    queued: list[tuple[str, bool]] = field(default_factory=list)  # (tag, soft)
    applied: bool = False  # by this process, after COMMIT (False: owed, or none)

    def groups(self) -> list[tuple[frozenset[str], bool]]:
        """The bump to make: every tag at once, with one clock value, so that no
        reader sees some of a write's tags moved and not others. If any is hard,
        all are (a soft one in the same write waits like the rest)."""
        tags = frozenset(tag for tag, _ in self.queued)
        if not tags:
            return []
        return [(tags, all(soft for _, soft in self.queued))]

    def add(self, tag: str, *, soft: bool = False) -> None:
        """Queue a bump of ``tag`` with this transaction's, from code that cannot
        await (a database hook: what a write moved); once, however often asked."""
        queued = (validate_tag(tag), soft)
        if queued not in self.queued:
            self.queued.append(queued)

    def to_text(self) -> str:
        """What it queued, as text to keep (an outbox row): ``from_text`` reads it."""
        return json.dumps(self.queued)

    @classmethod
    def from_text(cls, text: str) -> Commit:
        return cls(queued=[(tag, soft) for tag, soft in json.loads(text)])


# The transaction in progress (None outside one).
_pending: ContextVar[Commit | None] = ContextVar("pending", default=None)


class Invalidations:
    def __init__(self, store: Store, metrics: CacheMetrics, purgers: Sequence[Purger] = ()) -> None:
        self.store = store
        self.metrics = metrics
        self.purgers = tuple(purgers)  # purged by tag after each bump
        self._listeners: list[Listener] = []
        self._owed: list[tuple[frozenset[str], bool]] = []
        self._paying = asyncio.Lock()
        store.on_remote_invalidation(self._heard_remote)

    async def revalidate_tag(self, tag: str, *, soft: bool = False) -> None:
        """Invalidate every entry holding ``tag``; after COMMIT if in a transaction.

        ``soft=True`` lets the next reader get the old body while one
        background render replaces it; the default makes readers wait.
        """
        if current_scope() is not None:
            raise RevalidateDuringRender()
        tag = validate_tag(tag)
        pending = _pending.get()
        if pending is not None:
            pending.queued.append((tag, soft))
            return
        await self._apply(frozenset([tag]), soft=soft)

    async def revalidate_path(self, path: str, type: PathType | None = None) -> None:
        """``revalidate_tag`` of the page, route (``"page"``) or layout tag of ``path``."""
        await self.revalidate_tag(path_tag_for(path, type))

    @asynccontextmanager
    async def after_commit(self) -> AsyncIterator[Commit]:
        """Queue the invalidations made inside; apply them if the block completes.

        Wrap the database transaction in it: the block completes only after
        COMMIT, and an exception (a rollback) drops the queue. Nested blocks
        join the outermost one.
        """
        outer = _pending.get()
        if outer is not None:
            yield outer
            return
        commit = Commit()
        token = _pending.set(commit)
        try:
            yield commit
        finally:
            _pending.reset(token)
        committed = time.perf_counter()  # the block ended after COMMIT
        applied = True
        for tags, soft in commit.groups():
            applied = await self._apply(tags, soft=soft, committed=committed) and applied
        commit.applied = applied and bool(commit.queued)

    async def apply(self, tags: frozenset[str], *, soft: bool) -> None:
        """Bump ``tags`` now, or raise ``StoreUnavailable``: for invalidations
        another process made and could not apply (an outbox), which must stay
        where they are until some process has applied them."""
        await self.pay_owed()
        await self.store.bump(tags, soft=soft)
        await self._purge_edges(tags, soft=soft)
        self.metrics.invalidated(tags)
        self._moved(tags)

    def on_invalidate(self, listener: Listener) -> None:
        """Call ``listener`` with the tags of every invalidation, here or elsewhere."""
        self._listeners.append(listener)

    @property
    def owes(self) -> bool:
        """Whether some bump waits to be applied (checked before every read)."""
        return bool(self._owed)

    async def pay_owed(self) -> None:
        """Apply the bumps the store could not take; raises while it still cannot."""
        if not self._owed:
            return  # the hot path: nothing owed, no lock
        async with self._paying:  # readers wait until what they owe is applied
            while self._owed:
                tags, soft = self._owed[0]
                await self.store.bump(tags, soft=soft)
                self._owed.pop(0)

    def store_failed(self, operation: str, exc: StoreUnavailable) -> None:
        self.metrics.store_errors.inc()
        logger.warning("cache store unavailable during %s, serving uncached: %s", operation, exc)

    async def _apply(
        self, tags: frozenset[str], *, soft: bool, committed: float | None = None
    ) -> bool:
        """Bump ``tags`` in the store; if it is down, owe them (False).

        Never raises: the write it follows has committed, and the user must
        get their answer. ``committed`` (``perf_counter``): when the write's
        COMMIT ended, to time each stage from (``cache_write_consistent_seconds``).
        """
        self._owed.append((tags, soft))
        applied = True
        try:
            await self.pay_owed()
            await self._note_write()
            self._reached("store", committed)
        except StoreUnavailable as exc:
            self.store_failed("invalidate", exc)
            applied = False
        try:
            await self._purge_edges(tags, soft=soft)
            if self.purgers:
                self._reached("edge", committed)
        except EdgeUnavailable as exc:
            self.metrics.store_errors.inc()
            logger.warning("edge purge failed, left to the outbox: %s", exc)
            applied = False
        self.metrics.invalidated(tags)
        self._moved(tags)
        self._reached("live", committed)
        return applied

    def _reached(self, stage: str, committed: float | None) -> None:
        if committed is not None:
            self.metrics.consistent.labels(stage).observe(time.perf_counter() - committed)

    async def _purge_edges(self, tags: frozenset[str], *, soft: bool) -> None:
        """After the store's bump (an edge that fetches again gets the new body).
        Every edge is asked, at once; the first refusal is raised after all
        answered (the outbox row then stays, and purges them all again)."""
        if not self.purgers:
            return
        purges = [purger.purge(tags, soft=soft) for purger in self.purgers]
        for outcome in await asyncio.gather(*purges, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    async def _note_write(self) -> None:
        """The request that invalidated learns the clock its visitor's reads
        must reach (``CacheMiddleware`` hands it on in a cookie): no layer
        may give them what it knew before (a near copy, another process that
        has not heard yet, an edge), nor, after a soft one, the old body
        that others may get once more."""
        binding = bound_or_none()
        if binding is not None:
            binding.wrote_at = max(binding.wrote_at, await self.store.clock())

    def _heard_remote(self, tags: frozenset[str] | None) -> None:
        self._moved(EVERYTHING if tags is None else tags)

    def _moved(self, tags: frozenset[str]) -> None:
        for listener in self._listeners:
            listener(tags)
