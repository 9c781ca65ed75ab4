"""What the cache holds under a key, and why: the data of a cache inspector.

``Cache.inspect(key)`` answers with an ``Inspection``; the engine notes in
``MissNotes`` why each key was last not served fresh, for it alone.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from app.cache.edge import edge_keys
from app.cache.entry import Entry, Freshness


@dataclass(frozen=True)
class TagState:
    tag: str
    expired_at: int  # the store clock of its last hard bump (0: none kept)
    stale_at: int  # of its last soft bump
    moved: bool  # bumped after the entry's snapshot: it no longer serves as fresh


@dataclass(frozen=True)
class Inspection:
    key: str
    entry: Entry | None  # None: nothing servable is stored
    freshness: Freshness | None
    age: float | None  # seconds since its render began
    tags: list[TagState]
    last_miss: tuple[float, str] | None  # (when, why) it was last not served fresh
    edge_keys: str  # the keys an edge in front purges it by


class MissNotes:
    """Why each key was last not served fresh from the store: the cache
    inspector's answer to "why was that a miss?". The last ``MAX`` keys."""

    MAX = 1000
    ABSENT = "no entry in the store: never made, evicted, or expired by a bump of one of its tags"
    STALE = "stale (a soft invalidation, or its time was up): served once more, rendered again"
    OLDER_THAN_OWN_WRITE = "stale, and older than this visitor's own write: rendered for them"
    STORE_DOWN = "the store could not be reached: rendered without it"
    REFUSED = "rendered, and not kept by the store"  # then why (app.cache.store.Put)

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


def inspection(
    key: str,
    found: tuple[Entry, Freshness] | None,
    stamps: dict[str, tuple[int, int]],
    last_miss: tuple[float, str] | None,
    now: float,
) -> Inspection:
    """What ``Cache.inspect`` read of ``key`` (its entry, its tags' stamps), told."""
    if found is None:
        return Inspection(key, None, None, None, [], last_miss, "")
    entry, freshness = found
    tags = [
        TagState(tag, expired, stale, max(expired, stale) > entry.snapshot)
        for tag, (expired, stale) in sorted(stamps.items())
    ]
    return Inspection(
        key, entry, freshness, now - entry.created_at, tags, last_miss, edge_keys(entry.tags)
    )
