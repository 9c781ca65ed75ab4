"""The cache inspector (admins only): for a URL of this site, what each layer
holds behind it, its tags and their versions, its age, which render made it,
and why it was last not served fresh.

Not cached itself: it reads the store as it is now.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match, Route

from app.accounts.permissions import signed_in
from app.cache import current_cache
from app.cache.http import response_key
from app.cache.inspect import inspect
from app.htmx import PAGE, PARTIAL
from app.templating import render_page

ADMINS_ONLY = "The cache inspector is for admins."
NOT_LOCAL = "Give a path of this site, such as /tickets."


async def cache_inspector(request: Request) -> Response:
    viewer = await signed_in(request)
    if not viewer.is_admin:
        raise HTTPException(403, ADMINS_ONLY)
    url = request.query_params.get("url", "/tickets").strip()
    if not url.startswith("/") or url.startswith("//"):
        raise HTTPException(400, NOT_LOCAL)
    parts = urlsplit(url)
    canonical = _canonical_query(request, parts.path, parts.query)
    cache = current_cache()
    layers = []
    if canonical is not None:
        for variant in (PAGE, PARTIAL):
            key = response_key(parts.path, canonical.encode(), variant)
            layers.append((variant, await inspect(cache, key)))
    settings = request.app.state.settings
    body = render_page(
        "admin/cache.html",
        partial=False,
        url=url,
        cached=canonical is not None,
        layers=layers,
        now=cache.now(),
        edge_url=settings.edge_url,
    )
    return HTMLResponse(body)


def _canonical_query(request: Request, path: str, query: str) -> str | None:
    """The query string the route keys ``path`` by; None: not served through the cache."""
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode()}
    for route in request.app.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            endpoint = child.get("endpoint")
            if not hasattr(endpoint, "cache_query"):
                return None
            canonical = endpoint.cache_query
            if canonical is None:  # the whole query string is part of the key
                return query
            probe = Request({**scope, **child, "headers": [], "app": request.app})
            result: str = canonical(probe)  # may refuse a bad value (400)
            return result
    return None


routes = [Route("/admin/cache", cache_inspector, methods=["GET"], name="cache_inspector")]
