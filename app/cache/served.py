"""What serving a key gives back, and the render functions it is given."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.cache.entry import Entry, Freshness
from app.cache.store import Put

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
    # Rendered for this request, and the store would not keep it (why): a
    # bypass nobody may keep, not even an edge (its data may predate a write).
    refused: Put | None = None


def as_bytes(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body
