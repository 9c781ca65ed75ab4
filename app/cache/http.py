"""The cache over HTTP: response keys, headers, the HIT fast path, ``@cached``.

``CacheMiddleware`` works out each GET's key once, asks ``Cache.lookup`` for
a fresh answer and sends it before the router runs (no routing, no database,
no template), and keeps it in ``Repeats`` to give again to the same request.
Everything else (a miss, a stale entry, a dynamic route) goes through the
route, whose ``@cached`` endpoint renders through ``Cache.serve``,
which reads through the same ``lookup``. Both build their headers here, so a
HIT looks the same whichever path served it.

Which variant of a URL a request wants (a page, or a part of it for a script)
is the app's business: it hands the middleware a ``Variants``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.context import (
    READ_AFTER_COOKIE,
    READ_AFTER_SECONDS,
    Binding,
    RequestKey,
    current_binding,
)
from app.cache.edge import xkey_header
from app.cache.encoding import compress_as
from app.cache.engine import Cache, current_cache
from app.cache.entry import Entry
from app.cache.errors import CacheError
from app.cache.holes import (
    MARKER_START,
    SURROGATE_CONTROL,
    Holes,
    Visitor,
    from_edge,
    join,
    split,
    visitor_etag,
)
from app.cache.repeats import Repeats
from app.cache.served import CacheStatus, Served
from app.cache.tags import implicit_tags

Endpoint = Callable[[Request], Awaitable[str]]
RequestHeaders = Mapping[bytes, bytes]  # lower-case names, as ASGI gives them


@dataclass(frozen=True, slots=True)
class Variants:
    """How the app splits one URL into representations.

    ``of`` names the variant a request's headers ask for (it becomes part of
    the key); ``vary`` lists the headers it reads, for the ``Vary`` header.
    """

    of: Callable[[RequestHeaders], str]
    vary: tuple[str, ...] = ()
    vary_header: bytes = field(init=False)  # the Vary header of every answer, made once

    def __post_init__(self) -> None:
        vary_header = ", ".join((*self.vary, "Accept-Encoding")).encode()
        object.__setattr__(self, "vary_header", vary_header)


ONE_VARIANT = Variants(lambda headers: "page")


def response_key(path: str, query_string: bytes, variant: str) -> str:
    """``GET /tickets?b=2&a=1``, variant ``partial`` -> ``/tickets?a=1&b=2 partial``."""
    if not query_string:
        return f"{path}? {variant}"  # the common case, without parsing
    query = urlencode(sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))
    return f"{path}?{query} {variant}"


def request_key(scope: Scope, variants: Variants) -> RequestKey:
    """The key a GET is cached under, and the headers its answer depends on."""
    headers = dict(scope["headers"])
    variant = variants.of(headers)
    return RequestKey(
        response_key(scope["path"], scope["query_string"], variant),
        variant=variant,
        if_none_match=headers.get(b"if-none-match"),
        accept_encoding=headers.get(b"accept-encoding"),
        vary=variants.vary_header,
        edge=from_edge(headers.get(b"surrogate-capability")),
        tagged=b"surrogate-capability" in headers,
        has_cookie=b"cookie" in headers,
    )


def client_error(exc: BaseException) -> bool:
    """An endpoint's 4xx (``HTTPException(404)``): a render that declined, not one
    that failed (``Cache(declined=client_error)``)."""
    return isinstance(exc, HTTPException) and exc.status_code < 500


def etag_matches(if_none_match: bytes, etag: str) -> bool:
    candidates = {tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")}
    return b"*" in candidates or etag.encode() in candidates


Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
PREPARED_SHAPES_MAX = 8  # answers kept per entry (status x Accept-Encoding x Vary x edge)
# RFC 9211: this cache's member of Cache-Status (an edge in front appends its own).
CACHE_STATUS_NAME = "tickets"
CACHE_STATUS = {
    CacheStatus.HIT: f"{CACHE_STATUS_NAME}; hit".encode(),
    CacheStatus.MISS: f"{CACHE_STATUS_NAME}; fwd=miss".encode(),
    CacheStatus.STALE: f"{CACHE_STATUS_NAME}; fwd=stale".encode(),
    CacheStatus.BYPASS: f"{CACHE_STATUS_NAME}; fwd=bypass".encode(),
}
ASSEMBLED_OVERHEAD_BYTES = 1024  # an assembled answer's memo key, ETag and headers


def cached_answer(
    status: CacheStatus,
    body: bytes,
    entry: Entry | None,
    request: RequestKey,
    holes: Holes | None = None,
) -> Answer:
    """Status, headers and body of an answer from the cache: one shape for every path.

    The variant the client accepts is sent, or ``304`` when it holds it
    already. An entry's answers are worked out once per shape and kept with
    it (``Entry.prepared``): the HIT path only looks them up. An entry with
    holes is answered as ``app/cache/holes.py`` says: as stored to an edge,
    assembled for a known visitor (``request.visitor``), with the anonymous
    fills for anyone else.
    """
    if entry is None:  # a bypass: nothing stored, nothing to validate or keep
        return _bypassed(status, body, request, holes)
    if request.visitor is not None and holes is not None and not request.edge:
        return _assembled(status, entry, request, holes)  # (know_visitor: it has holes)
    # The whole answer, kept per request shape: the HIT path is one dict lookup.
    # Shapes are the Accept-Encoding values clients send (a few); a flood of
    # odd ones is answered without being kept.
    shape = (status.value, request.accept_encoding, request.vary, request.edge, request.tagged)
    if request.if_none_match is None:
        answer: Answer | None = entry.prepared.get(shape)
        if answer is not None:
            return answer
    holed = holes is not None and len(holes.pieces(entry)) > 1
    coding, variant, etag = entry.variant(None if request.edge else request.accept_encoding)
    if holes is not None and holed and coding is None and not request.edge:
        # The stored compressed variants are of the anonymous body; the plain one is made here.
        variant, etag = holes.public_of(entry), f'{etag[:-1]}-public"'
    if request.if_none_match is not None and etag_matches(request.if_none_match, etag):
        return 304, _headers(status, entry, coding, request.vary, None, etag), b""
    headers = _headers(status, entry, coding, request.vary, variant, etag)
    if request.tagged:  # what an edge cache may keep, and the tags that purge it
        headers.append(xkey_header(entry.tags))
    if holed and request.edge:
        headers.append(SURROGATE_CONTROL)
    answer = (200, headers, variant)
    if len(entry.prepared) < PREPARED_SHAPES_MAX:
        entry.prepared[shape] = answer
    return answer


def _bypassed(status: CacheStatus, body: bytes, request: RequestKey, holes: Holes | None) -> Answer:
    """A body rendered for this request only: its holes filled here, for whoever asks."""
    pieces = split(body) if holes is not None else [body]
    extra: Headers = []
    if len(pieces) > 1 and request.edge:
        extra.append(SURROGATE_CONTROL)
    elif len(pieces) > 1:
        assert holes is not None
        body = join(pieces, request.visitor, holes.fill)
    private = request.visitor is not None and len(pieces) > 1
    return 200, [*_headers(status, None, None, request.vary, body, private=private), *extra], body


def _assembled(status: CacheStatus, entry: Entry, request: RequestKey, holes: Holes) -> Answer:
    """A known visitor's answer: the entry's pieces and their holes, put together
    once per (entry, visitor, coding) in this process (``Holes.assembled``),
    with its ETag and its HIT headers, so that reading it again is a lookup."""
    visitor = request.visitor
    assert visitor is not None
    coding, _, shared_etag = entry.variant(request.accept_encoding)
    memo_key = (entry.key, entry.etag, visitor.key, coding, request.vary)
    assembled: tuple[bytes, str, Headers] | None = holes.assembled.get(memo_key)
    if assembled is None:
        filled = holes.for_visitor(entry, visitor)
        body, etag = compress_as(coding, filled), visitor_etag(shared_etag, visitor)
        hit = _headers(CacheStatus.HIT, entry, coding, request.vary, body, etag, private=True)
        assembled = (body, etag, hit)
        holes.assembled.put(memo_key, assembled, len(body) + ASSEMBLED_OVERHEAD_BYTES)
    body, etag, hit = assembled
    if request.if_none_match is not None and etag_matches(request.if_none_match, etag):
        return 304, _headers(status, entry, coding, request.vary, None, etag, private=True), b""
    if status is CacheStatus.HIT:
        return 200, hit, body
    return 200, _headers(status, entry, coding, request.vary, body, etag, private=True), body


def _headers(
    status: CacheStatus,
    entry: Entry | None,
    coding: str | None,
    vary: bytes,
    body: bytes | None,
    etag: str | None = None,
    *,
    private: bool = False,
) -> Headers:
    headers = [
        (b"content-type", (entry.content_type if entry else "text/html; charset=utf-8").encode()),
        (b"x-cache", status.value.encode()),
        (b"cache-status", CACHE_STATUS[status]),
        # A known visitor's answer holds their holes: theirs alone.
        (b"cache-control", b"private, no-cache" if private else b"no-cache"),
        (b"vary", vary),
    ]
    if etag is not None:
        headers.append((b"etag", etag.encode()))
    if coding is not None:
        headers.append((b"content-encoding", coding.encode()))
    if body is not None:
        headers.append((b"content-length", str(len(body)).encode()))
    return headers


class CachedResponse(Response):
    """``cached_answer`` as a Starlette response, for the route path."""

    def __init__(self, served: Served, request: RequestKey, holes: Holes | None) -> None:
        self.status_code, headers, self.body = cached_answer(
            served.status, served.body, served.entry, request, holes
        )
        self.raw_headers = list(headers)  # its own copy: middleware may add headers
        self.background = None


class CacheMiddleware:
    """Binds the cache to each request, once, and answers fresh HITs before routing."""

    def __init__(
        self,
        app: ASGIApp,
        cache: Cache,
        variants: Variants = ONE_VARIANT,
        repeats: Repeats | None = None,
    ) -> None:
        self.app = app
        self.cache = cache
        self.variants = variants
        self.repeats = repeats  # where the HITs it gives are kept, to be given again

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = None
        if scope["method"] in ("GET", "HEAD"):
            request = request_key(scope, self.variants)
            mark = self.cache.mark() if self.repeats else None  # before the read
            found = await self.cache.lookup(request.key, fresh_only=True)
            if found is not None:
                entry, holes = found[0], self.cache.holes
                await know_visitor(holes, entry, entry.body, request, scope)
                answer = cached_answer(CacheStatus.HIT, entry.body, entry, request, holes)
                if self.repeats is not None and mark is not None:
                    self.repeats.keep(scope, answer, mark, _until(entry, request.visitor))
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        if request is not None:
            request.read_after = read_after_of(scope)  # only off the HIT path
        binding = Binding(request)

        async def send_read_after(message: Message) -> None:
            """A request that soft-invalidated tells its visitor's next reads
            how recent they must be (read your own writes). An answer that did
            not come through the cache says so in Cache-Status."""
            if message["type"] == "http.response.start":
                headers = message["headers"]
                if not any(name == b"cache-status" for name, _ in headers):
                    headers = [*headers, (b"cache-status", CACHE_STATUS[CacheStatus.BYPASS])]
                if binding.wrote_at:
                    cookie = (
                        f"{READ_AFTER_COOKIE}={binding.wrote_at}; Max-Age={READ_AFTER_SECONDS}; "
                        "Path=/; HttpOnly; SameSite=Lax"
                    )
                    headers = [*headers, (b"set-cookie", cookie.encode())]
                message["headers"] = headers
            await send(message)

        with self.cache.bound(binding):
            await self.app(scope, receive, send_read_after)


def _until(entry: Entry, visitor: Visitor | None) -> float | None:
    """When an answer made of ``entry`` for ``visitor`` must stop (None: only a bump ends it)."""
    if visitor is None:
        return entry.expires_at
    if entry.expires_at is None:
        return visitor.expires_at
    return min(entry.expires_at, visitor.expires_at)


async def know_visitor(
    holes: Holes | None, entry: Entry | None, body: bytes, request: RequestKey, scope: Scope
) -> None:
    """Work out who asks (``request.visitor``) when, and only when, the answer has
    holes to fill for them: a page without holes never looks at a session, nor
    a request without cookies (the anonymous answer is kept ready for it).
    ``entry`` None: a body rendered for this request only (a bypass)."""
    if holes is None or request.edge or not request.has_cookie:
        return
    holed = MARKER_START in body if entry is None else len(holes.pieces(entry)) > 1
    if holed:
        request.visitor = await holes.visitor_of(scope)


def read_after_of(scope: Scope) -> int:
    """The store clock of the visitor's last soft write, from its cookie (0: none)."""
    number = cookie_of(scope, READ_AFTER_COOKIE)
    return int(number) if number is not None and number.isdigit() else 0


def cookie_of(scope: Scope, name: str) -> bytes | None:
    """The value of one cookie, read straight from the headers (no parsing of the rest)."""
    wanted = name.encode() + b"="
    value: bytes
    for header, value in scope["headers"]:
        if header == b"cookie" and wanted in value:
            for part in value.split(b";"):
                key, _, found = part.strip().partition(b"=")
                if key + b"=" == wanted:
                    return found
    return None


def cached(
    *,
    revalidate: float | None = None,
    dynamic: bool = False,
    tags: Iterable[str] = (),
    query: Callable[[Request], str] | None = None,
) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Serve a GET endpoint's HTML through the cache (needs ``CacheMiddleware``).

    The endpoint returns the body (the whole page, or the variant the app's
    ``Variants`` named); raising, for example ``HTTPException(404)``, means
    nothing is stored. ``revalidate=N`` makes it timed (stale after N
    seconds, refreshed in the background); ``dynamic=True`` renders every time.

    ``query`` gives the route's canonical query string: only the parameters
    it declares, normalised (it may raise to refuse a bad value). The entry
    is keyed by that, so ``?utm_source=x`` or a reordered query is served
    from the same entry, and junk parameters cannot fill the store. Without
    it, the whole query string (sorted) is part of the key.
    """
    declared = tuple(tags)

    def decorate(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def serve(request: Request) -> Response:
            binding = current_binding()
            if binding.request is None:
                raise CacheError("@cached serves GET and HEAD requests only")
            key = binding.request.key
            if query is not None:
                canonical = query(request).encode()
                key = response_key(request.scope["path"], canonical, binding.request.variant)
            route = request.scope.get("route")
            binding.path_tags = implicit_tags(request.scope["path"], getattr(route, "path", None))
            cache = current_cache()
            served = await cache.serve(
                key,
                lambda: endpoint(request),
                tags=declared,
                revalidate=revalidate,
                dynamic=dynamic,
                compress=True,
            )
            holes = cache.holes
            await know_visitor(holes, served.entry, served.body, binding.request, request.scope)
            return CachedResponse(served, binding.request, holes)

        # How the route keys its entries, for a cache inspector to find them.
        serve.cache_query = query  # type: ignore[attr-defined]
        return serve

    return decorate
