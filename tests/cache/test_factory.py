from __future__ import annotations

import pytest

from app.cache import CacheError, MemoryStore, create_store


def test_memory_url_gives_a_bounded_memory_store() -> None:
    store = create_store("memory://", max_bytes=123)
    assert isinstance(store, MemoryStore) and store.max_bytes == 123


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(CacheError, match="unsupported CACHE_URL scheme 'memcached'"):
        create_store("memcached://localhost", max_bytes=1)
