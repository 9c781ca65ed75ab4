"""create_app(settings) -> Starlette: routes, middleware, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.accounts.passwords import HashSlots, Passwords
from app.accounts.permissions import SignInFirst, sign_in_first
from app.accounts.routes import routes as account_routes
from app.accounts.viewer import Remembered
from app.admin import routes as admin_routes
from app.assets import static_files
from app.build import this_build
from app.cache import (
    Cache,
    CacheMiddleware,
    Edge,
    EdgeUnavailable,
    FillHoles,
    Repeats,
    client_error,
    create_store,
    current_cache,
)
from app.clients import TrustedProxies, client_address
from app.db import Database
from app.event_stream import stream_events
from app.events import EventBroker
from app.holes import app_holes
from app.holes import routes as hole_routes
from app.hosts import AllowedHosts
from app.htmx import VARIANTS, wants_partial
from app.origin import CrossOriginProtection
from app.outbox import Outbox
from app.process import freeze_start_up
from app.security_headers import HEADERS as SECURITY_HEADERS
from app.settings import Settings
from app.stop_signal import on_stop_signal
from app.templating import render_page
from app.tickets.routes import routes as ticket_routes

logger = logging.getLogger(__name__)


async def metrics(request: Request) -> Response:
    """Prometheus text, for loopback clients or the bearer of ``METRICS_TOKEN``."""
    if not may_read_metrics(request):
        return PlainTextResponse("Metrics are for loopback clients or a bearer token.", 403)
    cache_metrics = current_cache().metrics
    return Response(cache_metrics.render(), media_type=cache_metrics.content_type)


def may_read_metrics(request: Request) -> bool:
    token: str | None = request.app.state.settings.metrics_token
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:  # through the edge, the client it was asked by (app/clients.py)
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


async def http_error(request: Request, exc: Exception) -> Response:
    """A page for 404s; a short plain message for other client errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = render_page("404.html", partial=wants_partial(request), detail=exc.detail)
        return HTMLResponse(body, 404)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


class CachedApp(Starlette):
    """Starlette with the cache in front of its whole stack.

    A fresh HIT is the hot path: it needs no error page, no origin check
    (it is a GET) and no routing, so ``CacheMiddleware`` answers it before
    Starlette's own middleware runs (only the Host check comes before it);
    every other request goes on through the stack, with the cache bound.
    A request that asks what one answered that way asked gets the same
    answer again (``Repeats.again``, in ``__call__``), before even the Host
    check: the kept answer was given to the very same ``Host``, which passed it.
    The browser's policy (``app.security_headers.HEADERS``) is added by the
    cache to every answer it passes or makes, and by the Host check to its
    refusal: every answer carries it, and no layer wraps them all for it.
    """

    def __init__(self, *, cache: Cache, allowed_hosts: Sequence[str], **options: Any) -> None:
        super().__init__(**options)
        self.cache = cache
        self.allowed_hosts = allowed_hosts
        self.repeats = Repeats(cache, VARIANTS.asked_by)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A repeat first, as ``RepeatsMiddleware`` would give it, but ahead of
        Starlette's own call, which only the rest need: the two frames and a
        second hit count cost a repeat a tenth of its time (bench/README.md)."""
        again = self.repeats.again(scope) if scope["type"] == "http" else None
        if again is not None:
            await send(again[0])
            await send(again[1])
            return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        cached = CacheMiddleware(stack, self.cache, VARIANTS, self.repeats, SECURITY_HEADERS)
        # The Host check comes first: a HIT is an answer too.
        return AllowedHosts(cached, self.allowed_hosts, SECURITY_HEADERS)


def create_app(settings: Settings | None = None, *, events: EventBroker | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    store = create_store(
        settings.cache_url, max_bytes=settings.cache_max_bytes, generation=this_build()
    )
    # An unknown id's 404 is no failure; pages' per-person parts are holes (app/holes.py).
    holes = app_holes()
    edges = [Edge(settings.edge_url, secret=settings.edge_secret)] if settings.edge_url else []
    cache = Cache(
        store,
        declined=client_error,
        holes=holes,
        edges=edges,
        verify_rate=settings.cache_verify_rate,
    )
    db = Database(settings.database_url, after_commit=cache.after_commit)
    outbox = db.outbox = Outbox(cache, db)  # invalidations outlive their writer
    events = events or EventBroker()
    events.instrument(cache.metrics.registry)
    cache.on_invalidate(events.publish)  # after COMMIT, ours and other processes'
    viewers = Remembered()  # whom session cookies name, until their session or person moves
    cache.on_invalidate(viewers.forget)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.create_schema()
        await cache.start()
        for edge in edges:  # what it keeps may be of another build
            try:
                await edge.purge_everything()
            except EdgeUnavailable as exc:
                logger.warning("could not empty the edge cache at start: %s", exc)
        sweeper = asyncio.create_task(outbox.run())
        freeze_start_up()  # what start-up made stays: out of the collector's scans
        try:
            with on_stop_signal(events.close):  # a stop waits for no event stream
                yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await outbox.idle()
            events.close()
            await cache.close()
            await db.close()

    app = CachedApp(
        cache=cache,
        allowed_hosts=settings.allowed_hosts,
        routes=[
            *ticket_routes,
            *account_routes,
            *hole_routes,
            *admin_routes,
            Route("/metrics", metrics, methods=["GET"], name="metrics"),
            Route("/events", stream_events, methods=["GET"], name="events"),
            Mount("/static", static_files, name="static"),
        ],
        middleware=[
            Middleware(CrossOriginProtection),
            # Inside the cache: what it did not answer (an action's row, an
            # error page) gets its holes filled here.
            Middleware(FillHoles, holes=holes),
        ],
        exception_handlers={HTTPException: http_error, SignInFirst: sign_in_first},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.cache = cache  # for code outside a request (tests, scripts): cache.bound()
    app.state.db = db
    app.state.outbox = outbox
    app.state.events = events
    app.state.viewers = viewers
    app.state.hash_slots = HashSlots(settings.hash_concurrency)  # Argon2 at once, at most
    app.state.passwords = Passwords(settings.password_hashing)
    app.state.proxies = TrustedProxies(settings.trusted_proxies, settings.edge_secret)
    return app
