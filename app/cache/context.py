"""The cache a context works with, and the module-level helpers that use it.

There is one way to reach the cache: ``current_cache()``. ``CacheMiddleware``
binds it once per request (with the request's key, so ``@cached`` does not
work it out again); code outside a request binds it with ``cache.bound()``.
``@cached`` adds the request's path tags to that binding once routing has
found the route, and every render inside the request carries them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.cache.errors import NoActiveCache
from app.cache.tags import PathType

if TYPE_CHECKING:
    from app.cache.engine import Cache, InHandRender, Render
    from app.cache.holes import Visitor


@dataclass(slots=True)  # not frozen: made on every GET, and frozen init is slower
class RequestKey:
    """What the cache needs of one GET: its key, and the headers it answers by."""

    key: str
    variant: str = "page"
    if_none_match: bytes | None = None
    accept_encoding: bytes | None = None
    vary: bytes = b"Accept-Encoding"  # the request headers the answer depends on
    # This visitor soft-invalidated at this store clock (READ_AFTER_COOKIE):
    # a stale entry older than that is not for them (read your own writes).
    read_after: int = 0
    # Whom holes are filled for (app/cache/holes.py): worked out only when the
    # answer has holes; None is a visitor nobody knows.
    visitor: Visitor | None = None
    edge: bool = False  # asked by an edge cache that fills holes itself (ESI)
    tagged: bool = False  # asked by an edge cache (Surrogate-Capability): tell it the tags
    has_cookie: bool = False  # a visitor is known by a cookie: without one, nobody


@dataclass(slots=True)
class Binding:
    cache: Cache
    request: RequestKey | None = None  # None outside a request
    path_tags: tuple[str, ...] = ()  # set by @cached once the route is known
    wrote_at: int = 0  # the store clock after this request's soft invalidations


# The cookie that carries ``Binding.wrote_at`` to the writer's next requests.
READ_AFTER_COOKIE = "cache-read-after"
READ_AFTER_SECONDS = 60  # far longer than a background render takes


_bound: ContextVar[Binding | None] = ContextVar("cache_binding", default=None)


@contextmanager
def bind(binding: Binding) -> Iterator[Binding]:
    token = _bound.set(binding)
    try:
        yield binding
    finally:
        _bound.reset(token)


def current_binding() -> Binding:
    binding = _bound.get()
    if binding is None:
        raise NoActiveCache()
    return binding


def bound_or_none() -> Binding | None:
    return _bound.get()


def current_cache() -> Cache:
    return current_binding().cache


def request_tags() -> tuple[str, ...]:
    binding = _bound.get()
    return () if binding is None else binding.path_tags


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
    served = await current_cache().serve(
        fragment_key(name, args), render, tags=tags, revalidate=revalidate, dynamic=dynamic
    )
    return served.body.decode()


async def fragments(name: str, parts: Sequence[tuple[object, InHandRender]]) -> list[str]:
    """Many fragments of one kind (a list's rows), read from the store in one round trip.

    ``parts`` pairs each fragment's argument (its key) with a function that
    renders it from data the enclosing render has already read; only the
    missing ones are rendered, then stored together (``Cache.serve_many``).
    """
    keys = [fragment_key(name, (arg,)) for arg, _ in parts]
    return await current_cache().serve_many(keys, [render for _, render in parts])


def fragment_key(name: str, args: tuple[object, ...]) -> str:
    return "fragment:" + name + "(" + ",".join(repr(arg) for arg in args) + ")"
