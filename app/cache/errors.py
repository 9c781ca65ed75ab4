"""What the cache raises.

CacheError
├── TagError                 an empty tag, or too many on one entry
├── RevalidateDuringRender   revalidate_* called while rendering a cached entry
├── NoActiveCache            a module-level helper used outside a cache context
├── StoreUnavailable         the store cannot be reached (also a ConnectionError)
└── EdgeUnavailable          the edge did not acknowledge a purge or answer a probe
"""

from __future__ import annotations


class CacheError(Exception):
    """Base class of every error the cache raises."""


class TagError(CacheError, ValueError):
    """A tag is empty, or an entry holds too many."""


class RevalidateDuringRender(CacheError, RuntimeError):
    """revalidate_* was called inside a cached render, whose body would then lie."""

    def __init__(self) -> None:
        super().__init__(
            "revalidate_tag/revalidate_path called while rendering a cached entry; "
            "invalidate from an action, not from a render"
        )


class NoActiveCache(CacheError, RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "no cache is bound to this context; call it inside a request served by "
            "CacheMiddleware or inside `with cache.bound():`"
        )


class StoreUnavailable(CacheError, ConnectionError):
    """The store cannot be reached: serve uncached and try again later."""


class EdgeUnavailable(CacheError):
    """The edge did not acknowledge a purge (or answer a probe)."""
