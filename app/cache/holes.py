"""Holes: the per-visitor parts of a shared body, filled per request.

A cached body is shared by every visitor, so what differs per person (who is
signed in, which actions they may use) stays out of it: a hole, marked the way
an edge cache's ESI processor reads it::

    <esi:include src="/holes/nav"/>

``src`` is a URL of the app that answers the hole's content for whoever asks
(by their cookie), so that an edge cache can fill it by itself; in the app the
same content comes straight from ``Holes.fill``, with no request.

A body with holes is answered three ways:

- to an edge cache that processes ESI (its request says
  ``Surrogate-Capability: ...="ESI/1.0"``): as stored, markers and all, with
  ``Surrogate-Control: content="ESI/1.0"``, so it keeps one copy for everyone
  and fills the holes itself, per request;
- to a visitor nobody knows (an edge asking for visitors included): with the
  anonymous fills. That body is the same for all of them, so it is made once
  per entry, and it is what the entry's stored encodings are made
  of (``Holes.public``);
- to a known visitor: the stored body's pieces joined with their fills
  (``Holes.for_visitor``). The answer is kept per (entry, visitor, encoding) in a
  byte-bounded memo of this process (``Assembled``), never in the store: a
  person reading an unchanged page again costs a dictionary lookup, and the
  next invalidation makes a new entry, whose ETag no memo key holds.

The cached ``X-Cache`` and ``ETag`` describe the shared part; a known visitor's
ETag adds a digest of who they are, so a browser never revalidates one person's
page into another's.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.entry import Entry

MARKER = re.compile(rb'<esi:include src="([^"]+)"\s*/>')
MARKER_START = b"<esi:include "
SURROGATE_CONTROL = (b"surrogate-control", b'content="ESI/1.0"')
PIECES = "holes.pieces"  # in Assembled, by ETag: the body split at its holes
PUBLIC = "holes.public"  # in Assembled, by ETag: the body with its anonymous fills
ASSEMBLED_MAX_BYTES = 16 * 1024 * 1024
T = TypeVar("T")


class Visitor(Protocol):
    """Who a request comes from, as holes see them."""

    @property
    def key(self) -> str:
        """Equal for two visitors exactly when every hole fills the same for both."""

    @property
    def expires_at(self) -> float:
        """Wall-clock end of who they are (a session's end); any earlier end,
        such as a sign-out, is a bump of some tag."""


Fill = Callable[[str, Visitor | None], bytes]  # (src, visitor; None: anonymous) -> content


def split(body: bytes) -> list[bytes]:
    """``body`` cut at its holes: text, src, text, src, ..., text (one piece: no holes)."""
    if MARKER_START not in body:
        return [body]
    return MARKER.split(body)


def join(pieces: list[bytes], visitor: Visitor | None, fill: Fill) -> bytes:
    """The pieces with every hole filled for ``visitor``."""
    if len(pieces) == 1:
        return pieces[0]
    out = pieces.copy()
    for at in range(1, len(out), 2):
        out[at] = fill(pieces[at].decode(), visitor)
    return b"".join(out)


def fills_esi(surrogate_capability: bytes | None) -> bool:
    """Whether the request comes from a cache that fills ESI holes itself."""
    return surrogate_capability is not None and b"ESI/1.0" in surrogate_capability


class Assembled:
    """Answers put together for one visitor, most recent first, up to a byte bound."""

    def __init__(self, max_bytes: int = ASSEMBLED_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._answers: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        found = self._answers.get(key)
        if found is None:
            return None
        self._answers.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, answer: Any, size: int) -> None:
        if size > self.max_bytes:
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._answers[key] = (answer, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, dropped) = self._answers.popitem(last=False)
            self.bytes -= dropped


@dataclass(slots=True)
class Holes:
    """The app's side of holes: who is asking, and what each hole holds for them.

    A visitor is known by a cookie: a request without one is anonymous, and
    ``visitor_of`` is not asked. It should remember its answer in the scope.
    """

    visitor_of: Callable[[Scope], Awaitable[Visitor | None]]
    fill: Fill
    assembled: Assembled = field(default_factory=Assembled)

    def public(self, body: bytes) -> bytes:
        """``body`` as a visitor nobody knows gets it."""
        return join(split(body), None, self.fill)

    def for_visitor(self, entry: Entry, visitor: Visitor) -> bytes:
        return join(self.pieces(entry), visitor, self.fill)

    def pieces(self, entry: Entry) -> list[bytes]:
        """``entry``'s body cut at its holes (one piece: none), worked out once."""
        derived = entry.derived
        if derived.pieces is None:
            derived.pieces = self._shared(entry, PIECES, lambda: split(entry.body), [entry.body])
        return derived.pieces

    def public_of(self, entry: Entry) -> bytes:
        """``entry``'s body with the anonymous fills, made once."""

        def fill_for_nobody() -> bytes:
            return join(self.pieces(entry), None, self.fill)

        derived = entry.derived
        if derived.public is None:
            derived.public = self._shared(entry, PUBLIC, fill_for_nobody, entry.body)
        return derived.public

    def _shared(self, entry: Entry, name: str, make: Callable[[], T], plain: T) -> T:
        """Made once per body in this process: kept with the entry (``Entry.derived``)
        and, since a shared store hands out a new ``Entry`` per read, by its ETag
        in ``assembled``; an entry without holes (``plain``) costs only a scan
        for a marker."""
        if MARKER_START not in entry.body:
            return plain
        found: T | None = self.assembled.get((name, entry.etag))
        if found is None:
            found = make()
            self.assembled.put((name, entry.etag), found, len(entry.body))
        return found


def visitor_etag(etag: str, visitor: Visitor) -> str:
    """A known visitor's ETag: the shared part's, and a digest of who they are."""
    digest = hashlib.blake2b(visitor.key.encode(), digest_size=6).hexdigest()
    return f'{etag[:-1]}-{digest}"'


class FillHoles:
    """Fills the holes of answers that did not come from the cache: an action's
    row, a page re-rendered with a form's messages, an error page.

    Installed inside ``CacheMiddleware``, so a HIT never passes here; any
    other answer of the cache (``Cache-Status``) filled its own and is left alone.
    """

    def __init__(self, app: ASGIApp, holes: Holes) -> None:
        self.app = app
        self.holes = holes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        esi = fills_esi(dict(scope["headers"]).get(b"surrogate-capability"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_filled(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if _fillable(message["headers"]):
                    start = message  # held until the body is whole
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            pieces = split(body)
            if len(pieces) > 1:
                if esi:
                    headers.append(SURROGATE_CONTROL)
                else:
                    visitor = await self.holes.visitor_of(scope)
                    body = join(pieces, visitor, self.holes.fill)
                    if visitor is not None:
                        headers = _private(headers)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_filled)


def _fillable(headers: list[tuple[bytes, bytes]]) -> bool:
    """HTML that the cache did not answer (a cached answer, ``Cache-Status``,
    fills its own holes) and that is not compressed."""
    html = False
    for name, value in headers:
        if name == b"content-type":
            html = value.startswith(b"text/html")
        elif name in (b"content-encoding", b"cache-status"):
            return False
    return html


def _private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A known visitor's answer is theirs alone: no shared cache may keep it."""
    kept = [(k, v) for k, v in headers if k != b"cache-control"]
    kept.append((b"cache-control", b"private, no-cache"))
    return kept
