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
  (``Holes.for_visitor``). A compressed answer is kept per (entry, visitor,
  encoding) in a byte-bounded memo of this process (``Assembled``), never in
  the store: a person reading an unchanged page again costs a dictionary
  lookup, and the next invalidation makes a new entry, whose ETag no memo key
  holds. A plain one is put together again (one join: see below).

Most holes are not per person but per *audience* (``Holes.audience``): a
ticket's Delete is the same form for everyone who may use it, and nothing for
everyone else. A body is filled once per audience set of its readers
(``Visitor.audiences``: most people are in none of a page's), into a
*template* where only the personal holes (who is signed in) are left open;
a person's answer is then that template with one or two holes filled, not a
walk over every hole of the page.

The cached ``X-Cache`` and ``ETag`` describe the shared part; a known visitor's
ETag adds a digest of who they are, so a browser never revalidates one person's
page into another's.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from starlette.types import Scope

from app.cache.entry import Entry

MARKER = re.compile(rb'<esi:include src="([^"]+)"\s*/>')
MARKER_START = b"<esi:include "
SURROGATE_CONTROL = (b"surrogate-control", b'content="ESI/1.0"')
PIECES = "holes.pieces"  # in Assembled, by ETag: the body split at its holes
PUBLIC = "holes.public"  # in Assembled, by ETag: the body with its anonymous fills
NAMED = "holes.named"  # in Assembled, by ETag: the audiences its holes are for
TEMPLATE = "holes.template"  # in Assembled, by (ETag, audiences): its pieces, personal holes open
NOBODY: frozenset[str] = frozenset()
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

    def audiences(self, named: frozenset[str]) -> frozenset[str]:
        """Which of ``named`` (the audiences of a body's holes, ``Holes.audience``)
        they are in; asked only of an app that gives its holes audiences."""


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
    ``audience`` (optional) says whom a hole's ``src`` is for: every visitor
    in that audience gets the same fill, and so does every known visitor
    outside it; None is a personal hole, filled per visitor. ``cookies``
    (optional) names the cookies ``visitor_of`` knows a visitor by: no other
    cookie changes an answer (``app/cache/repeats.py``); None: any may.
    """

    visitor_of: Callable[[Scope], Awaitable[Visitor | None]]
    fill: Fill
    assembled: Assembled = field(default_factory=Assembled)
    audience: Callable[[str], str | None] | None = None
    cookies: tuple[str, ...] | None = None

    def public(self, body: bytes) -> bytes:
        """``body`` as a visitor nobody knows gets it."""
        return join(split(body), None, self.fill)

    def for_visitor(self, entry: Entry, visitor: Visitor) -> bytes:
        """``entry``'s body with every hole filled for ``visitor``: its template
        for their audiences (made once), with its personal holes filled."""
        pieces, audience = self.pieces(entry), self.audience
        if audience is None or len(pieces) == 1:
            return join(pieces, visitor, self.fill)

        def named_of() -> frozenset[str]:
            found = (audience(pieces[at].decode()) for at in range(1, len(pieces), 2))
            return frozenset(name for name in found if name is not None)

        named = entry.derived.named
        if named is None:
            named = entry.derived.named = self._shared(entry, NAMED, named_of, NOBODY)
        key = (TEMPLATE, entry.etag, visitor.audiences(named))
        template: list[bytes] | None = self.assembled.get(key)
        if template is None:
            template = _template(pieces, visitor, audience, self.fill)
            self.assembled.put(key, template, len(entry.body))
        return join(template, visitor, self.fill)

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


def _template(
    pieces: list[bytes], visitor: Visitor, audience: Callable[[str], str | None], fill: Fill
) -> list[bytes]:
    """``pieces`` with the holes that have an audience filled for ``visitor`` (and
    so for everyone in the same audiences), the text around them joined: text,
    src, text ... as ``split`` gives, with only the personal holes left."""
    out: list[bytes] = []
    text = [pieces[0]]
    for at in range(1, len(pieces), 2):
        src = pieces[at].decode()
        if audience(src) is None:
            out += [b"".join(text), pieces[at]]
            text = []
        else:
            text.append(fill(src, visitor))
        text.append(pieces[at + 1])
    out.append(b"".join(text))
    return out


def visitor_etag(etag: str, visitor: Visitor) -> str:
    """A known visitor's ETag: the shared part's, and a digest of who they are."""
    return f'{etag[:-1]}-{_digest(visitor.key)}"'


@functools.lru_cache(maxsize=4096)  # worked out once per visitor, not per answer
def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
