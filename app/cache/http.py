"""The cache over HTTP: response keys, headers, the HIT fast path, ``@cached``.

A fresh HIT is answered by ``CacheMiddleware`` before the router runs: no
routing, no database, no template, one store lookup. Everything else (a miss,
a stale entry, a dynamic route) goes through the route, whose ``@cached``
endpoint renders through ``Cache.serve``. Both build their headers here, so a
HIT looks the same whichever path served it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.cache.engine import Cache, CacheStatus, Served
from app.cache.entry import Entry, Freshness
from app.cache.errors import StoreUnavailable
from app.cache.tags import implicit_tags

PAGE = "page"
FRAGMENT = "fragment"

Endpoint = Callable[[Request], Awaitable[str]]


def response_key(path: str, query_string: bytes, variant: str) -> str:
    """``GET /tickets?b=2&a=1`` as HTMX -> ``/tickets?a=1&b=2 fragment``."""
    if not query_string:
        return f"{path}? {variant}"  # the common case, without parsing
    query = urlencode(sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))
    return f"{path}?{query} {variant}"


def variant_of(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, bytes | None]:
    """The variant a request asks for (full page or fragment), and its If-None-Match.

    A history restore asks for the whole page even though htmx sends it.
    """
    htmx = restore = False
    if_none_match = None
    for name, value in headers:
        if name == b"hx-request":
            htmx = value == b"true"
        elif name == b"hx-history-restore-request":
            restore = value == b"true"
        elif name == b"if-none-match":
            if_none_match = value
    return (FRAGMENT if htmx and not restore else PAGE), if_none_match


def request_key(scope: Scope) -> tuple[str, bytes | None]:
    """The key a GET is cached under, and its If-None-Match: one rule for both paths."""
    variant, if_none_match = variant_of(scope["headers"])
    return response_key(scope["path"], scope["query_string"], variant), if_none_match


def is_fragment_request(request: Request) -> bool:
    """Whether the request gets the fragment variant (the rule the cache keys by)."""
    return variant_of(request.scope["headers"])[0] == FRAGMENT


def etag_matches(if_none_match: bytes | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")}
    return b"*" in candidates or etag.encode() in candidates


def cached_headers(
    status: CacheStatus, entry: Entry | None, length: int
) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", (entry.content_type if entry else "text/html; charset=utf-8").encode()),
        (b"x-cache", status.value.encode()),
        (b"cache-control", b"no-cache"),
        (b"vary", b"HX-Request"),
    ]
    if entry is not None:
        headers.append((b"etag", entry.etag.encode()))
    if length >= 0:
        headers.append((b"content-length", str(length).encode()))
    return headers


class CachedResponse(Response):
    """A body served by the cache, or ``304`` when the client already holds it."""

    def __init__(self, served: Served, if_none_match: bytes | None) -> None:
        entry = served.entry
        if entry is not None and etag_matches(if_none_match, entry.etag):
            self.status_code, self.body = 304, b""
            self.raw_headers = cached_headers(served.status, entry, -1)
        else:
            self.status_code, self.body = 200, served.body
            self.raw_headers = cached_headers(served.status, entry, len(served.body))
        self.background = None


class CacheMiddleware:
    """Binds the cache to each request and answers fresh HITs before routing."""

    def __init__(self, app: ASGIApp, cache: Cache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The HIT path runs first and binds nothing: it is the hot path.
        if scope["method"] in ("GET", "HEAD") and await self._serve_hit(scope, send):
            return
        with self.cache.bound():
            await self.app(scope, receive, send)

    async def _serve_hit(self, scope: Scope, send: Send) -> bool:
        key, if_none_match = request_key(scope)
        try:
            found = await self.cache.store.get(key, self.cache.now())
        except StoreUnavailable:
            return False  # the route serves it uncached, and counts the failure
        if found is None or found[1] is not Freshness.FRESH:
            return False
        self.cache.metrics.hits.inc()
        response = CachedResponse(Served(found[0].body, CacheStatus.HIT, found[0]), if_none_match)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})
        return True


def cached(
    *, revalidate: float | None = None, dynamic: bool = False, tags: Iterable[str] = ()
) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Serve a GET endpoint's HTML through the cache.

    The endpoint returns the body (the whole page, or its main fragment when
    the request is from htmx); raising, for example ``HTTPException(404)``,
    means nothing is stored. ``revalidate=N`` makes it timed (stale after N
    seconds, refreshed in the background); ``dynamic=True`` renders every time.
    """
    declared = tuple(tags)

    def decorate(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def serve(request: Request) -> Response:
            cache: Cache = request.app.state.cache
            key, if_none_match = request_key(request.scope)
            route = request.scope.get("route")
            path_tags = implicit_tags(request.scope["path"], getattr(route, "path", None))
            with cache.bound(path_tags):
                served = await cache.serve(
                    key,
                    lambda: endpoint(request),
                    tags=declared,
                    revalidate=revalidate,
                    dynamic=dynamic,
                )
            return CachedResponse(served, if_none_match)

        return serve

    return decorate
