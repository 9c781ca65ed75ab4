"""A request that asks what an answered one asked is answered again in one lookup.

Clients repeat themselves: a reload, a health check, a feed reader, a crawler,
a load test; and many ask the same thing in requests that differ only in what
the answer does not depend on (a user agent, a request id, a trace header).
``Repeats`` keeps the fresh HIT answers ``CacheMiddleware`` gave, by what they
were asked by (the request's *shape*: method, path, query string, and the
headers an answer may depend on, ``Variants.asked_by``), and
``RepeatsMiddleware``, in front of everything else, gives one again while
``Cache.answered_again`` says nothing moved since: no key worked out, no store
read, no headers built, no other middleware run.

- An answer made for a known visitor (holes filled for them) is kept from
  the second time its shape is asked (a reload), not the first: its body is
  theirs alone, made for that request, and a crowd of people each reading a
  page once would otherwise fill the memo with bodies nobody asks again,
  all of them dropped every ``MAX_SHAPES`` requests (keeping them cost a
  person's HIT more than the rest of its path: bench/README.md). Kept, it
  is given again until their ``Visitor.expires_at`` (a session's end); any
  earlier end, a sign-out, is a bump. The shape holds their cookie: nobody
  else gets it.
- Of the ``Cookie`` header, the shape holds only the cookies an answer depends
  on: those a visitor is known by (``Holes.cookies``) and their read-after
  clock's. Cookies of other kinds (a preference, an analytics id, a cookie
  that names no one) differ per visitor and change nothing in the answer:
  such a request is a repeat of one without them. Without ``Holes.cookies``
  (the app's promise that no other cookie counts), the whole header counts.
- The shape holds ``Host``: a kept answer passed the app's Host check when it
  was first given (``CacheMiddleware`` is behind it), so its repeats, in front
  of that check, may skip it.
- A request that names a header twice has no shape (which of the two would
  count is the reader's business): it takes the whole path, every time.
- At most ``MAX_SHAPES`` are kept, all dropped together when full or once
  the store moved. Each holds a body the store may have evicted since, so
  this bounds what is held beyond the store's own bound.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.context import READ_AFTER_COOKIE
from app.cache.engine import Cache

MAX_SHAPES = 64
# Where ``RepeatsMiddleware`` leaves the shape it worked out, for ``keep``.
SHAPE_KEY = "cache.shape"

Shape = tuple[object, ...]  # (method, path, query string, each header of asked_by or None)
# An answer: its cache key (what it counts under), the two ASGI messages that
# sent it (sent again as they are), and when it must stop (None: only a bump ends it).
Kept = tuple[str, Message, Message, float | None]


def shape_of(
    scope: Scope, asked_by: Sequence[bytes], cookies: Sequence[bytes] | None = None
) -> Shape | None:
    """What a request asks: its method, path and query, and the values of the
    headers ``asked_by`` (None for each absent), of ``Cookie`` only the
    ``cookies`` named (all of it if None); None if it names a header twice."""
    raw = scope["headers"]
    headers = dict(raw)  # (ASGI allows each header as a list: a pair all the same)
    if len(headers) != len(raw):
        return None
    if cookies is not None and b"cookie" in headers:
        headers[b"cookie"] = named_cookies(headers[b"cookie"], cookies)
    return (scope["method"], scope["path"], scope["query_string"], *map(headers.get, asked_by))


def named_cookies(header: bytes, names: Sequence[bytes]) -> bytes | None:
    """The cookies of ``header`` named ``names`` (each as ``name=``), first of
    each name as ``cookie_of`` reads it, in the order of ``names``; None if none."""
    for name in names:  # (a loop: any() over a generator cost 1 us more)
        if name in header:
            break
    else:
        return None  # the common case: no part to parse
    found: dict[bytes, bytes] = {}
    for part in header.split(b";"):
        key, _, value = part.strip().partition(b"=")
        key += b"="
        if key in names and key not in found:
            found[key] = value
    if not found:
        return None
    return b"; ".join(name + found[name] for name in names if name in found)


class Repeats:
    """The answers kept to be given again, by shape."""

    def __init__(
        self, cache: Cache, asked_by: Sequence[bytes], max_shapes: int = MAX_SHAPES
    ) -> None:
        self.cache = cache
        self.asked_by = tuple(asked_by)  # the headers answers depend on (Variants.asked_by)
        # The cookies answers depend on, each as b"name=" (None: the whole header).
        self.cookies: tuple[bytes, ...] | None = None
        if cache.holes is not None and cache.holes.cookies is not None:
            named = (*cache.holes.cookies, READ_AFTER_COOKIE)
            self.cookies = tuple(f"{name}=".encode() for name in named)
        self.max_shapes = max_shapes
        self.mark: int | None = None  # the store's mark when every kept answer was given
        self.kept: dict[Shape, Kept] = {}
        # The shapes of known visitors' answers given once and not kept (no
        # bodies): asked again, theirs is kept. At most ``max_shapes``.
        self.asked_once: set[Shape] = set()

    def keep(
        self,
        scope: Scope,
        key: str,
        answer: tuple[Message, Message],
        mark: int,
        expires_at: float | None,
        *,
        personal: bool = False,
    ) -> None:
        """Keep the answer of ``key`` sent as ``answer`` (its start and body
        messages), made from an entry fresh at the store's ``mark`` (read
        before the entry was), until it expires at ``expires_at``. The
        messages are sent again as they are (an ASGI server reads a message,
        and changes nothing in it). A ``personal`` answer (made for a known
        visitor) is kept only if its shape was asked once before."""
        shape = (
            scope[SHAPE_KEY] if SHAPE_KEY in scope else shape_of(scope, self.asked_by, self.cookies)
        )
        if shape is None:
            return
        if personal and shape not in self.asked_once:
            if len(self.asked_once) >= self.max_shapes:
                self.asked_once.clear()
            self.asked_once.add(shape)
            return
        if mark != self.mark or len(self.kept) >= self.max_shapes:
            self.kept.clear()
            self.mark = mark
        self.kept[shape] = (key, *answer, expires_at)

    def again(self, scope: Scope) -> tuple[Message, Message] | None:
        """The two messages kept for this request's shape, while they may be
        sent again (``Cache.answered_again``); else None, and the shape is left
        in ``scope`` for ``keep``. Not a coroutine, and the caller sends them:
        the fastest path the app has costs no frame it can spare."""
        if not self.kept:  # nothing kept (a store with no mark): no shape to work out
            return None
        shape = scope[SHAPE_KEY] = shape_of(scope, self.asked_by, self.cookies)
        kept = None if shape is None else self.kept.get(shape)
        if kept is None:
            return None
        key, start, body, expires_at = kept
        assert self.mark is not None  # set with the first answer kept
        if self.cache.answered_again(key, self.mark, expires_at):
            return start, body
        self.kept.clear()  # one moved, or timed out: let them all be read again
        return None


class RepeatsMiddleware:
    """Gives a request the answer kept for its shape, before anything else runs.

    Installed outermost, in front of even the app's Host check: that check
    sits in front of the ``CacheMiddleware`` that fills ``repeats``, so every
    kept answer passed it once for the very ``Host`` its shape holds. (An app
    may run ``Repeats.again`` itself, ahead of its own call, as app/main.py's
    ``CachedApp`` does: the same place, one frame less.)
    """

    def __init__(self, app: ASGIApp, repeats: Repeats) -> None:
        self.app = app
        self.repeats = repeats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        again = self.repeats.again(scope) if scope["type"] == "http" else None
        if again is not None:
            await send(again[0])
            await send(again[1])
            return
        await self.app(scope, receive, send)
