"""``@cached``: a GET endpoint's HTML served through the cache."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.cache.answers import CachedResponse, know_visitor
from app.cache.context import current_binding
from app.cache.engine import current_cache
from app.cache.errors import CacheError
from app.cache.keys import response_key
from app.cache.served import CacheStatus
from app.cache.tags import path_tags_of, route_pattern
from app.cache.verify import Check

Endpoint = Callable[[Request], Awaitable[str]]


def client_error(exc: BaseException) -> bool:
    """An endpoint's 4xx (``HTTPException(404)``): a render that declined, not one
    that failed (``Cache(declined=client_error)``)."""
    return isinstance(exc, HTTPException) and exc.status_code < 500


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
            route_path = getattr(request.scope.get("route"), "path", None)
            binding.path_tags = path_tags_of(request.scope["path"], route_path)
            cache = current_cache()

            async def render() -> str:
                return await endpoint(request)

            served = await cache.serve(
                key,
                render,
                tags=declared,
                revalidate=revalidate,
                dynamic=dynamic,
                compress=True,
            )
            if binding.verify and cache.verifier is not None and served.status is CacheStatus.HIT:
                assert served.entry is not None  # a HIT has its entry
                route = route_pattern(route_path) if route_path else ""
                check = Check(_url(request), route, served.entry, render, binding.path_tags)
                cache.verifier.submit(check)
            holes = cache.holes
            await know_visitor(holes, served.entry, served.body, binding.request, request.scope)
            return CachedResponse(served, binding.request, holes)

        # How the route keys its entries, for a cache inspector to find them.
        serve.cache_query = query  # type: ignore[attr-defined]
        return serve

    return decorate


def _url(request: Request) -> str:
    """The path and query string asked for: what a log names."""
    path: str = request.scope["path"]
    query = request.scope["query_string"].decode("latin-1")
    return path + ("?" + query if query else "")
