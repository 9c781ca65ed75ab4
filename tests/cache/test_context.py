"""What a request binds for the cache's layers to read, and how it is undone."""

from __future__ import annotations

import pytest

from app.cache import Cache, MemoryStore, NoActiveCache, current_cache
from app.cache.context import Binding, RequestKey, current_binding, current_path_tags, read_after


def test_nothing_is_bound_outside_a_request() -> None:
    with pytest.raises(NoActiveCache):
        current_binding()
    with pytest.raises(NoActiveCache):
        current_cache()
    assert current_path_tags() == () and read_after() == 0


def test_a_request_binds_its_cache_and_what_it_asked_until_it_ends() -> None:
    cache = Cache(MemoryStore(1 << 20))
    binding = Binding(RequestKey("/a page", read_after=7), path_tags=("path:/a",))

    with cache.bound(binding) as bound:
        assert bound is binding and current_binding() is binding
        assert current_cache() is cache
        assert current_path_tags() == ("path:/a",) and read_after() == 7
    with pytest.raises(NoActiveCache):
        current_cache()


def test_a_binding_of_its_own_hides_the_enclosing_requests_path_tags() -> None:
    """Why the app's session lookup binds the cache again: its entry must not
    take the tags of the page whose request asked."""
    cache = Cache(MemoryStore(1 << 20))
    with cache.bound(Binding(RequestKey("/a page"), path_tags=("path:/a",))):
        with cache.bound():
            assert current_path_tags() == () and current_cache() is cache
        assert current_path_tags() == ("path:/a",)
