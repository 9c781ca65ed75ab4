"""What the current request asked of the cache, for every layer to read.

``CacheMiddleware`` binds a ``Binding`` once per request (with the request's
key, so ``@cached`` does not work it out again); ``@cached`` adds the
request's path tags once routing has found the route, and every render inside
the request carries them. Outside a request nothing is bound. Which cache is
current is bound apart, by the cache itself (``Cache.bound``), so that this
module, which the engine reads, needs nothing of the engine.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from app.cache.errors import NoActiveCache
from app.cache.holes import Visitor


@dataclass(slots=True)  # not frozen: made on every GET, and frozen init is slower
class RequestKey:
    """What the cache needs of one GET: its key, and the headers it answers by.

    ``request_key`` makes it with positional arguments, in this order: keep it.
    """

    key: str
    variant: str = "page"
    if_none_match: bytes | None = None
    accept_encoding: bytes | None = None
    vary: bytes = b"Accept-Encoding"  # the request headers the answer depends on
    # This visitor's last write moved the store's clock to this (their
    # READ_AFTER_COOKIE, or READ_AFTER_HEADER from an edge): what they read
    # must reflect it (read your own writes). 0: nothing asked.
    read_after: int = 0
    # For an edge (``tagged``): a clock every bump up to which the answer
    # reflects, read before the lookup (``Cache.heard``); sent as CLOCK_HEADER.
    heard: int = 0
    # Whom holes are filled for (app/cache/holes.py): worked out only when the
    # answer has holes; None is a visitor nobody knows.
    visitor: Visitor | None = None
    esi: bool = False  # asked by a cache that fills holes itself (ESI)
    tagged: bool = False  # asked by an edge cache (Surrogate-Capability): tell it the tags
    has_cookie: bool = False  # a visitor is known by a cookie: without one, nobody


@dataclass(slots=True)
class Binding:
    """The cache's state for one request (``CacheMiddleware`` binds it)."""

    request: RequestKey | None = None  # None when the request is no cacheable GET
    path_tags: tuple[str, ...] = ()  # set by @cached once the route is known
    wrote_at: int = 0  # the store clock after this request's invalidations
    # This process had not heard of the visitor's last write in time
    # (``Cache.catch_up``): nothing it keeps is used, every part is rendered.
    read_through: bool = False
    # Sampled for verification (app/cache/verify.py): routed to its ``@cached``
    # endpoint rather than answered before routing, so that a HIT can be rendered again.
    verify: bool = False


# The cookie that carries ``Binding.wrote_at`` to the writer's next requests.
READ_AFTER_COOKIE = "cache-read-after"
READ_AFTER_SECONDS = 60  # far longer than a background render takes
# The same clock as an edge hands it on (it sends no cookie with its fetches),
# and the clock an answer to an edge reflects: the edge keeps it with the
# object, and fetches again for a visitor whose read-after clock is later.
READ_AFTER_HEADER = b"x-cache-read-after"
CLOCK_HEADER = b"x-cache-clock"


_bound: ContextVar[Binding | None] = ContextVar("cache_binding", default=None)


def set_binding(binding: Binding | None) -> Token[Binding | None]:
    """Bind ``binding`` (``Cache.bound`` does, with the cache): ``reset_binding`` undoes it."""
    return _bound.set(binding)


def reset_binding(token: Token[Binding | None]) -> None:
    _bound.reset(token)


def current_binding() -> Binding:
    binding = _bound.get()
    if binding is None:
        raise NoActiveCache()
    return binding


def bound_or_none() -> Binding | None:
    return _bound.get()


def current_path_tags() -> tuple[str, ...]:
    binding = _bound.get()
    return () if binding is None else binding.path_tags


def read_after() -> int:
    """The store clock the current visitor's reads must reach (0: any)."""
    binding = _bound.get()
    return binding.request.read_after if binding and binding.request else 0


def reads_through() -> bool:
    """Whether the current request must use nothing kept (``Binding.read_through``)."""
    binding = _bound.get()
    return binding is not None and binding.read_through
