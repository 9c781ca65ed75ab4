from __future__ import annotations

import app.cache


def test_public_names_are_pinned() -> None:
    assert sorted(app.cache.__all__) == [
        "Cache",
        "CacheError",
        "CacheMiddleware",
        "CacheStatus",
        "Commit",
        "Decoding",
        "Edge",
        "EdgeObject",
        "EdgeUnavailable",
        "Entry",
        "FillHoles",
        "Freshness",
        "Holes",
        "MemoryStore",
        "NoActiveCache",
        "Repeats",
        "RepeatsMiddleware",
        "RevalidateDuringRender",
        "Served",
        "Store",
        "TagError",
        "Variants",
        "Visitor",
        "cache_tag",
        "cached",
        "client_error",
        "collected_tags",
        "cookie_of",
        "create_store",
        "current_cache",
        "fragment",
        "fragments",
        "revalidate_path",
        "revalidate_tag",
    ]
    for name in app.cache.__all__:
        assert hasattr(app.cache, name)
