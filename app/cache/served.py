"""What serving a key gives back, and the render functions it is given."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.cache.entry import Entry, Freshness

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


def as_bytes(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body
