"""``CACHE_URL`` -> a store."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.cache.errors import CacheError
from app.cache.memory import MemoryStore
from app.cache.store import Store


def create_store(url: str, *, max_bytes: int) -> Store:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore(max_bytes)
    if scheme in ("redis", "rediss"):
        from app.cache.redis import RedisStore  # imported only when asked for

        return RedisStore(url)
    raise CacheError(f"unsupported CACHE_URL scheme {scheme!r}; use memory:// or redis://")
