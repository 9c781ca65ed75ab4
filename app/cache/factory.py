"""``CACHE_URL`` -> a store."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.cache.errors import CacheError
from app.cache.memory import MemoryStore
from app.cache.off import OffStore
from app.cache.store import Store

OFF = "off"  # CACHE_URL=off: nothing is stored, every answer is rendered (app/cache/off.py)


def create_store(url: str, *, max_bytes: int, generation: str = "") -> Store:
    """The store ``url`` names. ``generation``: the version of the code that
    renders; a shared store keeps each generation's entries apart (a process's
    own memory starts empty with its code)."""
    if url == OFF:
        return OffStore()
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore(max_bytes)
    if scheme in ("redis", "rediss"):
        from app.cache.redis import RedisStore  # imported only when asked for

        return RedisStore(url, generation=generation)
    raise CacheError(f"unsupported CACHE_URL scheme {scheme!r}; use memory://, redis:// or off")
