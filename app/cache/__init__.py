"""A tag-keyed cache for pages and fragments, invalidated on demand.

Knows nothing of tickets, routes or SQL: the app gives it a store, wraps its
transactions in ``Cache.after_commit`` and its GET endpoints in ``@cached``.
"""

from __future__ import annotations

from app.cache.context import current_cache, fragment, revalidate_path, revalidate_tag
from app.cache.engine import Cache, CacheStatus, Served
from app.cache.entry import Entry, Freshness
from app.cache.errors import CacheError, NoActiveCache, RevalidateDuringRender, TagError
from app.cache.factory import create_store
from app.cache.http import CacheMiddleware, cached
from app.cache.memory import MemoryStore
from app.cache.scope import cache_tag
from app.cache.store import Store

__all__ = [
    "Cache",
    "CacheError",
    "CacheMiddleware",
    "CacheStatus",
    "Entry",
    "Freshness",
    "MemoryStore",
    "NoActiveCache",
    "RevalidateDuringRender",
    "Served",
    "Store",
    "TagError",
    "cache_tag",
    "cached",
    "create_store",
    "current_cache",
    "fragment",
    "revalidate_path",
    "revalidate_tag",
]
