"""A request asked again exactly is answered again in one lookup.

Clients repeat themselves: a reload, a health check, a feed reader, a crawler,
a load test. ``Repeats`` keeps the fresh HIT answers ``CacheMiddleware`` gave,
by the request's exact shape (method, path, query string and every header),
and gives one again while ``Cache.answered_again`` says nothing moved since:
no key worked out, no store read, no headers built, no middleware run.

- An answer made for a known visitor (holes filled for them) is given again
  until their ``Visitor.expires_at`` (a session's end); any earlier end, a
  sign-out, is a bump. The shape holds their cookie: nobody else gets it.
- The shape holds ``Host``: a kept answer passed the Host check when it was
  first given, so it may skip it when it is given again.
- At most ``MAX_SHAPES`` are kept, all dropped together when full or once
  the store moved. Each holds a body the store may have evicted since, so
  this bounds what is held beyond the store's own bound.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from starlette.types import Scope, Send

from app.cache.engine import Cache

if TYPE_CHECKING:
    from app.cache.http import Answer

MAX_SHAPES = 64

Shape = tuple[str, str, bytes, tuple[Any, ...]]


def shape_of(scope: Scope) -> Shape:
    # Headers as tuples, as uvicorn and granian give them. ASGI also allows
    # lists, which cannot be a dict key: such a server's requests are never
    # kept (``answer`` and ``keep`` let the TypeError pass).
    return scope["method"], scope["path"], scope["query_string"], tuple(scope["headers"])


class Repeats:
    def __init__(self, cache: Cache, max_shapes: int = MAX_SHAPES) -> None:
        self.cache = cache
        self.max_shapes = max_shapes
        self._mark: int | None = None  # the store's mark when every kept answer was given
        self._answers: dict[Shape, tuple[Answer, float | None]] = {}

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Send the answer kept for exactly this request, if it still holds."""
        if not self._answers:  # nothing kept (a store with no mark): no shape to work out
            return False
        try:
            kept = self._answers.get(shape_of(scope))
        except TypeError:  # unhashable headers (see shape_of)
            return False
        if kept is None:
            return False
        (status, headers, body), expires_at = kept
        assert self._mark is not None  # set with the first answer kept
        if not self.cache.answered_again(self._mark, expires_at):
            self._answers.clear()  # one moved, or timed out: let them all be read again
            return False
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def keep(self, scope: Scope, answer: Answer, mark: int, expires_at: float | None) -> None:
        """Keep ``answer``, made from an entry fresh at the store's ``mark``
        (read before the entry was), until it expires at ``expires_at``."""
        if mark != self._mark or len(self._answers) >= self.max_shapes:
            self._answers.clear()
            self._mark = mark
        with contextlib.suppress(TypeError):  # unhashable headers (see shape_of)
            self._answers[shape_of(scope)] = (answer, expires_at)
