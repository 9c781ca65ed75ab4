"""The cache's admin page (admins only): what the cache did over the last hour,
drawn live from its figures (``/admin/cache/figures``, JSON, which
static/charts.js polls), and the inspector: for a URL of this site, what each
layer holds behind it, its tags and their versions, its age, which render made
it, and why it was last not served fresh; and the last divergences that this
process's sampled verification found (``CACHE_VERIFY_RATE``).

Not cached itself: it reads the store and the figures as they are now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match, Route

from app import paths
from app.accounts.permissions import signed_in
from app.cache import Edge, EdgeObject, EdgeUnavailable, StoreUnavailable, current_cache
from app.cache.keys import response_key
from app.edge_contract import ANONYMOUS, EDGE_OBJECTS
from app.htmx import PAGE, PARTIAL
from app.templating import render_page

ADMINS_ONLY = "The cache inspector is for admins."
NOT_LOCAL = "Give a path of this site, such as /tickets."
# What stays as it is in a URL given to the inspector: its structure and any
# escapes already there; the rest (a space, an accent) is percent-encoded.
URL_SAFE = "/?&=%+:@!$'()*,;~"
# What each variant of a page is asked with: the edge keeps the two apart too.
VARIANT_HEADERS = {PAGE: [], PARTIAL: [("HX-Request", "true")]}


@dataclass(frozen=True)
class EdgeRow:
    who: str
    encoding: str | None
    kept: EdgeObject | None


async def admins_only(request: Request) -> None:
    viewer = await signed_in(request)
    if not viewer.is_admin:
        raise HTTPException(403, ADMINS_ONLY)


async def cache_figures(request: Request) -> Response:
    """The last hour of the cache's figures, for the charts: this process's
    (``?scope=process``, the default) or the cluster's (``?scope=cluster``)."""
    await admins_only(request)
    scope = request.query_params.get("scope", "process")
    if scope not in ("process", "cluster"):
        raise HTTPException(400, "scope is process or cluster.")
    series = current_cache().timeline.series(cluster=scope == "cluster")
    return JSONResponse(series, headers={"Cache-Control": "no-store"})


async def cache_inspector(request: Request) -> Response:
    await admins_only(request)
    url = request.query_params.get("url", "/tickets").strip()
    if not url.startswith("/") or url.startswith("//"):
        raise HTTPException(400, NOT_LOCAL)
    parts = urlsplit(url)
    path = unquote(parts.path)  # as a request's scope has it
    canonical = _canonical_query(request, path, parts.query)
    as_sent = quote(url, safe=URL_SAFE)  # the edge keeps objects by the URL as browsers send it
    # The edge keeps objects by Host too: the one this page came through, if it came through it.
    host = request.headers.get("host") if "x-varnish" in request.headers else None
    cache = current_cache()
    layers = []
    if canonical is not None:
        for variant in (PAGE, PARTIAL):
            key = response_key(path, canonical.encode(), variant)
            edge = await _at_the_edge(cache.edges, as_sent, VARIANT_HEADERS[variant], host)
            try:
                layers.append((variant, await cache.inspect(key), edge))
            except StoreUnavailable as exc:
                raise HTTPException(503, f"The cache store cannot be reached now: {exc}") from exc
    settings = request.app.state.settings
    body = render_page(
        "admin/cache.html",
        partial=False,
        url=url,
        cached=canonical is not None,
        layers=layers,
        now=cache.now(),
        edge_url=settings.edge_url,
        edge_anonymous=ANONYMOUS,
        verifier=cache.verifier,  # None: CACHE_VERIFY_RATE is off
        # A store many processes share draws the cluster's figures; else this process's.
        figures_scope="process" if cache.store.board is None else "cluster",
    )
    return HTMLResponse(body)


async def _at_the_edge(
    edges: Sequence[Edge], url: str, headers: list[tuple[str, str]], host: str | None
) -> list[EdgeRow] | str:
    """What the edge keeps for ``url``: one object per kind of asker and
    encoding (``EDGE_OBJECTS``: the edge keeps them apart), or why it could not say."""
    rows: list[EdgeRow] = []
    for edge in edges:
        for who, encoding in EDGE_OBJECTS:
            asked = headers + ([("Accept-Encoding", encoding)] if encoding else [])
            try:
                kept = await edge.probe(url, who=who, headers=asked, host=host)
                rows.append(EdgeRow(who, encoding, kept))
            except EdgeUnavailable as exc:
                return f"The edge did not answer: {exc}"
    return rows


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


routes = [
    Route(paths.cache_inspector_path(), cache_inspector, methods=["GET"], name="cache_inspector"),
    Route(paths.cache_figures_path(), cache_figures, methods=["GET"], name="cache_figures"),
]
