"""What the cache answers: status, headers and body, the same triple on every path.

``CacheMiddleware`` answers a fresh HIT before routing, and ``@cached``
answers everything else from its route; both build the answer here, so a HIT
looks the same whichever path served it.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from app.cache.context import CLOCK_HEADER, RequestKey
from app.cache.edge import xkey_header
from app.cache.encoding import compress_for_one
from app.cache.entry import Entry
from app.cache.holes import (
    MARKER_START,
    SURROGATE_CONTROL,
    Holes,
    join,
    split,
    visitor_etag,
)
from app.cache.served import CacheStatus, Served
from app.cache.store import Put
from app.cache.types import Answer, AnswerKind, Headers

ANSWERS_PER_ENTRY_MAX = 8  # answers kept per entry (status x Accept-Encoding x Vary x esi)
# RFC 9211: this cache's member of Cache-Status (an edge in front appends its own).
CACHE_STATUS_NAME = "tickets"
CACHE_STATUS = {
    CacheStatus.HIT: f"{CACHE_STATUS_NAME}; hit".encode(),
    CacheStatus.MISS: f"{CACHE_STATUS_NAME}; fwd=miss".encode(),
    CacheStatus.STALE: f"{CACHE_STATUS_NAME}; fwd=stale".encode(),
    CacheStatus.BYPASS: f"{CACHE_STATUS_NAME}; fwd=bypass".encode(),
}
NOT_TO_KEEP = b"private, no-store"  # a body the store refused: its asker's alone
ASSEMBLED_OVERHEAD_BYTES = 1024  # an assembled answer's memo key, ETag and headers


def etag_matches(if_none_match: bytes, etag: str) -> bool:
    candidates = {tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")}
    return b"*" in candidates or etag.encode() in candidates


def cached_answer(
    status: CacheStatus,
    body: bytes,
    entry: Entry | None,
    request: RequestKey,
    holes: Holes | None = None,
    refused: Put | None = None,
) -> Answer:
    """Status, headers and body of an answer from the cache, the same triple on every path.

    The encoding the client accepts is sent, or ``304`` when it holds it
    already. An entry's answers are worked out once per kind and kept with
    it (``Derived.answers``): the HIT path only looks them up. An entry with
    holes is answered as ``app/cache/holes.py`` says: as stored to an ESI layer,
    assembled for a known visitor (``request.visitor``), with the anonymous
    fills for anyone else. A body the store ``refused`` goes to its asker
    only: ``private, no-store`` and no ``xkey``, so that no edge keeps it
    (it may hold data a write replaced while it was rendered).
    """
    if entry is None or refused is not None:  # nothing stored, nothing to validate or keep
        return _bypassed(status, body, request, holes, refused)
    if request.visitor is not None and holes is not None and not request.esi:
        return _assembled(status, entry, request, holes)  # (know_visitor: it has holes)
    # The whole answer, kept per kind: the HIT path is one dict lookup. Kinds
    # are mostly the Accept-Encoding values clients send (a few); a flood of
    # odd ones is answered without being kept.
    kind: AnswerKind = (
        status,  # the member itself: its .value is an enum property, paid per HIT
        request.accept_encoding,
        request.vary,
        request.esi,
        request.tagged,
    )
    kept = entry.derived.answers
    if request.if_none_match is None and kept is not None:
        answer: Answer | None = kept.get(kind)
        if answer is not None:
            return answer
    holed = holes is not None and len(holes.pieces(entry)) > 1
    public = None if holes is None else holes.public_of
    encoding, body, etag = entry.encoded_for(
        None if request.esi else request.accept_encoding, public
    )
    if holes is not None and holed and encoding is None and not request.esi:
        # The stored encodings are of the anonymous body; the plain one is made here.
        body, etag = holes.public_of(entry), f'{etag[:-1]}-public"'
    if request.if_none_match is not None and etag_matches(request.if_none_match, etag):
        return 304, _headers(status, entry, encoding, request.vary, None, etag), b""
    headers = _headers(status, entry, encoding, request.vary, body, etag)
    if request.tagged:  # what an edge cache may keep, and the tags that purge it
        headers.append(xkey_header(entry.tags))
    if holed and request.esi:
        headers.append(SURROGATE_CONTROL)
    answer = (200, headers, body)
    if kept is None:
        entry.derived.answers = {kind: answer}
    elif len(kept) < ANSWERS_PER_ENTRY_MAX:
        kept[kind] = answer
    return answer


def with_clock(
    headers: Headers, status: CacheStatus, entry: Entry | None, request: RequestKey
) -> Headers:
    """``headers`` and, for an entry, the clock that every bump up to which its
    answer reflects (``CLOCK_HEADER``): for an edge, which fetches again for a
    visitor whose read-after clock is later. A fresh answer reflects every
    bump this process had heard of before it read (``request.heard``); a
    stale one, only those before its render began. A bypass is kept nowhere."""
    if entry is None:
        return headers
    clock = entry.snapshot if status is CacheStatus.STALE else max(request.heard, entry.snapshot)
    return [*headers, (CLOCK_HEADER, str(clock).encode())]


def _bypassed(
    status: CacheStatus,
    body: bytes,
    request: RequestKey,
    holes: Holes | None,
    refused: Put | None,
) -> Answer:
    """A body rendered for this request only: its holes filled here, for whoever
    asks; kept by nobody when the store ``refused`` it."""
    pieces = split(body) if holes is not None else [body]
    extra: Headers = []
    if len(pieces) > 1 and request.esi:
        extra.append(SURROGATE_CONTROL)
    elif len(pieces) > 1:
        assert holes is not None
        body = join(pieces, request.visitor, holes.fill)
    private = request.visitor is not None and len(pieces) > 1
    headers = _headers(
        status, None, None, request.vary, body, private=private, kept=refused is None
    )
    return 200, [*headers, *extra], body


def _assembled(status: CacheStatus, entry: Entry, request: RequestKey, holes: Holes) -> Answer:
    """A known visitor's answer: the entry's template for their audiences with
    their personal holes filled (``Holes.for_visitor``), and its own ETag. A
    compressed one is put together once per (entry, visitor, encoding) in this
    process (``Holes.assembled``), at brotli's fastest (``compress_for_one``:
    it is made for one reader), so that reading it again is a lookup; a
    plain one costs little more than that lookup, and is not kept: at a body
    per person, many people would push out what the memo is for."""
    visitor = request.visitor
    assert visitor is not None
    # The shared body's encoding is not made for it: this one is of the filled body.
    encoding = entry.encoding_for(request.accept_encoding, holes.public_of)
    shared_etag = entry.etag_of(encoding)
    if encoding is None:
        body, etag = holes.for_visitor(entry, visitor), visitor_etag(shared_etag, visitor)
        if status is CacheStatus.HIT and request.if_none_match is None:  # the common case
            return 200, [*_personal(entry, request.vary), *_sized(etag, body)], body
        hit = None
    else:
        memo_key = (entry.key, entry.etag, visitor.key, encoding, request.vary)
        assembled: tuple[bytes, str, Headers] | None = holes.assembled.get(memo_key)
        if assembled is None:
            filled = holes.for_visitor(entry, visitor)
            body, etag = compress_for_one(encoding, filled), visitor_etag(shared_etag, visitor)
            hit = _headers(CacheStatus.HIT, entry, encoding, request.vary, body, etag, private=True)
            assembled = (body, etag, hit)
            holes.assembled.put(memo_key, assembled, len(body) + ASSEMBLED_OVERHEAD_BYTES)
        body, etag, hit = assembled
    if request.if_none_match is not None and etag_matches(request.if_none_match, etag):
        return 304, _headers(status, entry, encoding, request.vary, None, etag, private=True), b""
    if status is CacheStatus.HIT and hit is not None:
        return 200, hit, body
    return 200, _headers(status, entry, encoding, request.vary, body, etag, private=True), body


def _personal(entry: Entry, vary: bytes) -> Headers:
    """The headers of every known visitor's plain HIT of ``entry`` but their own
    ETag and length (``_sized``), made once per entry: what ``_headers`` makes."""
    derived = entry.derived
    if derived.personal is None:
        derived.personal = {}
    headers = derived.personal.get(vary)
    if headers is None:
        headers = derived.personal[vary] = _headers(
            CacheStatus.HIT, entry, None, vary, None, private=True
        )
    return headers


def _sized(etag: str, body: bytes) -> Headers:
    return [(b"etag", etag.encode()), (b"content-length", b"%d" % len(body))]


def _headers(
    status: CacheStatus,
    entry: Entry | None,
    encoding: str | None,
    vary: bytes,
    body: bytes | None,
    etag: str | None = None,
    *,
    private: bool = False,
    kept: bool = True,
) -> Headers:
    headers = [
        (b"content-type", (entry.content_type if entry else "text/html; charset=utf-8").encode()),
        (b"x-cache", status.value.encode()),
        (b"cache-status", CACHE_STATUS[status]),
        # A known visitor's answer holds their holes: theirs alone. One the
        # store refused is for nobody to keep, an edge included.
        (b"cache-control", _cache_control(private, kept)),
        (b"vary", vary),
    ]
    if etag is not None:
        headers.append((b"etag", etag.encode()))
    if encoding is not None:
        headers.append((b"content-encoding", encoding.encode()))
    if body is not None:
        headers.append((b"content-length", str(len(body)).encode()))
    return headers


def _cache_control(private: bool, kept: bool) -> bytes:
    if not kept:
        return NOT_TO_KEEP
    return b"private, no-cache" if private else b"no-cache"


class CachedResponse(Response):
    """``cached_answer`` as a Starlette response, for the route path."""

    def __init__(self, served: Served, request: RequestKey, holes: Holes | None) -> None:
        self.status_code, headers, self.body = cached_answer(
            served.status, served.body, served.entry, request, holes, served.refused
        )
        if request.tagged:
            headers = with_clock(headers, served.status, served.entry, request)
        self.raw_headers = list(headers)  # its own copy: middleware may add headers
        self.background = None


async def know_visitor(
    holes: Holes | None, entry: Entry | None, body: bytes, request: RequestKey, scope: Scope
) -> None:
    """Work out who asks (``request.visitor``) when, and only when, the answer has
    holes to fill for them: a page without holes never looks at a session, nor
    a request without cookies (the anonymous answer is kept ready for it).
    ``entry`` None: a body rendered for this request only (a bypass)."""
    if holes is None or request.esi or not request.has_cookie:
        return
    holed = MARKER_START in body if entry is None else len(holes.pieces(entry)) > 1
    if holed:
        request.visitor = await holes.visitor_of(scope)
