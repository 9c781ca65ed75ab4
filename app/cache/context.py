"""The cache a request works with, and the module-level helpers that use it.

``CacheMiddleware`` binds the app's cache for each request, so actions call
``revalidate_tag("tickets")`` and renders call ``fragment(...)`` without
passing the cache around. ``@cached`` also binds the request's path tags,
which every render inside that request carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from app.cache.errors import NoActiveCache
from app.cache.tags import PathType

if TYPE_CHECKING:
    from app.cache.engine import Cache, Render

_bound: ContextVar[Cache | None] = ContextVar("bound_cache", default=None)
# The tags every render of the current request carries (its path tags).
_request_tags: ContextVar[tuple[str, ...]] = ContextVar("request_tags", default=())


@contextmanager
def bind(cache: Cache, request_tags: tuple[str, ...] = ()) -> Iterator[Cache]:
    cache_token = _bound.set(cache)
    tags_token = _request_tags.set(request_tags)
    try:
        yield cache
    finally:
        _request_tags.reset(tags_token)
        _bound.reset(cache_token)


def request_tags() -> tuple[str, ...]:
    return _request_tags.get()


def current_cache() -> Cache:
    cache = _bound.get()
    if cache is None:
        raise NoActiveCache()
    return cache


async def revalidate_tag(tag: str, *, stale: bool = False) -> None:
    await current_cache().revalidate_tag(tag, stale=stale)


async def revalidate_path(path: str, type: PathType | None = None) -> None:
    await current_cache().revalidate_path(path, type)


async def fragment(
    name: str,
    render: Render,
    *args: object,
    tags: Iterable[str] = (),
    revalidate: float | None = None,
    dynamic: bool = False,
) -> str:
    """A named fragment's HTML, cached under its name and arguments.

    Rendered inside a page, it hands its tags to the page's entry.
    """
    key = "fragment:" + name + "(" + ",".join(repr(arg) for arg in args) + ")"
    served = await current_cache().serve(
        key, render, tags=tags, revalidate=revalidate, dynamic=dynamic
    )
    return served.body.decode()
