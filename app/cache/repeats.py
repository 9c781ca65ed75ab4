"""A request asked again exactly is answered again in one lookup.

Clients repeat themselves: a reload, a health check, a feed reader, a crawler,
a load test. ``Repeats`` keeps the fresh HIT answers ``CacheMiddleware`` gave,
by the request's exact shape (method, path, query string and every header),
and ``RepeatsMiddleware``, in front of everything else, gives one again while
``Cache.answered_again`` says nothing moved since: no key worked out, no store
read, no headers built, no other middleware run.

- An answer made for a known visitor (holes filled for them) is given again
  until their ``Visitor.expires_at`` (a session's end); any earlier end, a
  sign-out, is a bump. The shape holds their cookie: nobody else gets it.
- The shape holds ``Host``: a kept answer passed the app's Host check when it
  was first given (``CacheMiddleware`` is behind it), so its repeats, in front
  of that check, may skip it.
- At most ``MAX_SHAPES`` are kept, all dropped together when full or once
  the store moved. Each holds a body the store may have evicted since, so
  this bounds what is held beyond the store's own bound.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.engine import Cache

MAX_SHAPES = 64

Shape = tuple[str, str, bytes, tuple[Any, ...]]
# An answer: its cache key (what it counts under), the two ASGI messages that
# sent it (sent again as they are), and when it must stop (None: only a bump ends it).
Kept = tuple[str, Message, Message, float | None]


def shape_of(scope: Scope) -> Shape:
    # Headers as tuples, as uvicorn and granian give them. ASGI also allows
    # lists, which cannot be a dict key: such a server's requests are never
    # kept (``RepeatsMiddleware`` and ``keep`` let the TypeError pass).
    return scope["method"], scope["path"], scope["query_string"], tuple(scope["headers"])


class Repeats:
    """The answers kept to be given again, by shape."""

    def __init__(self, cache: Cache, max_shapes: int = MAX_SHAPES) -> None:
        self.cache = cache
        self.max_shapes = max_shapes
        self.mark: int | None = None  # the store's mark when every kept answer was given
        self.kept: dict[Shape, Kept] = {}

    def keep(
        self,
        scope: Scope,
        key: str,
        answer: tuple[Message, Message],
        mark: int,
        expires_at: float | None,
    ) -> None:
        """Keep the answer of ``key`` sent as ``answer`` (its start and body
        messages), made from an entry fresh at the store's ``mark`` (read
        before the entry was), until it expires at ``expires_at``. The
        messages are sent again as they are (an ASGI server reads a message,
        and changes nothing in it)."""
        if mark != self.mark or len(self.kept) >= self.max_shapes:
            self.kept.clear()
            self.mark = mark
        with contextlib.suppress(TypeError):  # unhashable headers (see shape_of)
            self.kept[shape_of(scope)] = (key, *answer, expires_at)


class RepeatsMiddleware:
    """Gives a request the answer kept for its exact repeat, before anything else runs.

    Installed outermost, in front of even the app's Host check: that check
    sits in front of the ``CacheMiddleware`` that fills ``repeats``, so every
    kept answer passed it once for the very ``Host`` its shape holds. Its path
    is the fastest the app has, so it reads ``repeats`` inline.
    """

    def __init__(self, app: ASGIApp, repeats: Repeats) -> None:
        self.app = app
        self.repeats = repeats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            repeats = self.repeats
            if repeats.kept:  # nothing kept (a store with no mark): no shape to work out
                try:
                    kept = repeats.kept.get(shape_of(scope))
                except TypeError:  # unhashable headers (see shape_of)
                    kept = None
                if kept is not None:
                    key, start, body, expires_at = kept
                    assert repeats.mark is not None  # set with the first answer kept
                    if repeats.cache.answered_again(key, repeats.mark, expires_at):
                        await send(start)
                        await send(body)
                        return
                    repeats.kept.clear()  # one moved, or timed out: let them all be read again
        await self.app(scope, receive, send)
