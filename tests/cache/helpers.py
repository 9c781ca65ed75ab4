"""Helpers shared by the cache library's tests (test modules never import each other).

- ``Clock`` (time a test moves) and ``Renderer`` (a render that counts its calls,
  tags itself and can be held at a gate);
- the Redis store's: ``make_entry``, ``two_processes``, ``listening_store``, ``Counted``,
  ``hold_channel`` (``Held``);
- ``Site``: a tiny Starlette app behind ``CacheMiddleware``, whose endpoints count
  renders (no tickets, no database);
- ``StoreThatFailsOneBump``: a store with a blip;
- ``PAGE``, ``Person`` and ``fill``: a page with two holes, and how they are filled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from app.cache import (
    Cache,
    CacheMiddleware,
    Entry,
    MemoryStore,
    Repeats,
    RepeatsMiddleware,
    Store,
    Variants,
    Visitor,
    cache_tag,
    cached,
    revalidate_tag,
)
from app.cache.errors import StoreUnavailable
from app.cache.keys import RequestHeaders
from app.cache.redis import RedisStore
from app.cache.repeats import MAX_SHAPES

# -- the engine's doubles: a clock and a render ---------------------------------------


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Renderer:
    """A render that counts its calls, tags itself and can be held at a gate."""

    def __init__(self, *tags: str, body: str = "v") -> None:
        self.tags = tags
        self.body = body
        self.calls = 0
        self.started = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        cache_tag(*self.tags)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"{self.body}{self.calls}"


# -- the Redis store (tests/cache/test_redis_*.py) ------------------------------------


def make_entry(key: str, snapshot: int, tags: tuple[str, ...] = ("t",), **kw: Any) -> Entry:
    return Entry(
        key=key, body=b"body", tags=frozenset(tags), snapshot=snapshot, created_at=0.0, **kw
    )


@asynccontextmanager
async def two_processes(url: str, clock: Clock) -> AsyncIterator[tuple[Cache, Cache]]:
    """Two ``Cache`` objects over two ``RedisStore`` clients of one server:
    two processes (or hosts) that share nothing but Redis."""
    pair = (
        Cache(RedisStore(url, retry_after=0), now=clock),
        Cache(RedisStore(url, retry_after=0), now=clock),
    )
    for cache in pair:
        await cache.start()
    try:
        yield pair
    finally:
        for cache in pair:
            await cache.close()


@asynccontextmanager
async def listening_store(url: str) -> AsyncIterator[RedisStore]:
    """A started store whose invalidation channel is heard (its near copy in use)."""
    store = RedisStore(url, retry_after=0)
    await store.start()
    try:
        await asyncio.wait_for(store.listening.wait(), 5)
        yield store
    finally:
        await store.close()


@dataclass
class Held:
    """What a store's invalidation channel hears, held unhandled until ``release``
    is set (a process the news has not reached yet). ``arrived`` is set once a
    message is held: a test that releases news must wait for it first, since
    news still on its way from Redis may take longer than a read waits for it
    (it did on a loaded machine)."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def until_arrived(self) -> None:
        await asyncio.wait_for(self.arrived.wait(), 10)


def hold_channel(store: RedisStore) -> Held:
    """Hold what the store's invalidation channel hears (``Held``)."""
    held = Held()
    handle = store.channel._on

    async def hold(message: dict[str, Any]) -> None:
        held.arrived.set()
        await held.release.wait()
        await handle(message)

    store.channel._on = hold  # type: ignore[method-assign]
    return held


class Counted:
    """Counts the round trips of one of a store's scripts."""

    def __init__(self, store: RedisStore, script: str) -> None:
        self.calls = 0
        original = store._scripts[script]

        def counted(**kw: Any) -> Any:
            self.calls += 1
            return original(**kw)

        store._scripts[script] = counted  # type: ignore[assignment]


# -- a site over HTTP -------------------------------------------------------------------


def variant_of(headers: RequestHeaders) -> str:
    """This site's two variants: ``X-Part: yes`` asks for a part of the page."""
    return "part" if headers.get(b"x-part") == b"yes" else "page"


VARIANTS = Variants(variant_of, vary=("X-Part",))


def page_number(request: Request) -> str:
    """The one parameter /declared takes, in canonical form; junk is ignored."""
    page = request.query_params.get("page", "1")
    if not page.isdigit():
        raise HTTPException(400, "page must be a number")
    return "" if int(page) == 1 else f"page={int(page)}"


class Site:
    """A Starlette app whose endpoints count renders and can be held at a gate.

    With ``repeats``, repeated requests are answered by ``RepeatsMiddleware``
    in front of it, as the tickets app installs it.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        repeats: bool = False,
        max_shapes: int = MAX_SHAPES,
    ) -> None:
        self.clock = Clock()
        self.cache = Cache(store or MemoryStore(1 << 20), now=self.clock)
        self.repeats = Repeats(self.cache, VARIANTS.asked_by, max_shapes) if repeats else None
        self.renders = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.size = 10

        async def body(request: Request) -> str:
            self.renders += 1
            cache_tag("data")
            self.started.set()
            if self.gate is not None:
                await self.gate.wait()
            kind = "part" if variant_of(dict(request.scope["headers"])) == "part" else "<html>page"
            return f"{kind} {self.renders} " + "x" * self.size

        async def missing(request: Request) -> str:
            raise HTTPException(404, "nope")

        async def write_softly(request: Request) -> PlainTextResponse:
            async with self.cache.after_commit():
                await revalidate_tag("data", soft=True)
            return PlainTextResponse("written")

        async def write(request: Request) -> PlainTextResponse:
            async with self.cache.after_commit():
                await revalidate_tag("data")
            return PlainTextResponse("written")

        middleware = [Middleware(CacheMiddleware, cache=self.cache, variants=VARIANTS)]
        if self.repeats is not None:
            middleware = [
                Middleware(RepeatsMiddleware, repeats=self.repeats),
                Middleware(
                    CacheMiddleware, cache=self.cache, variants=VARIANTS, repeats=self.repeats
                ),
            ]
        self.app = Starlette(
            routes=[
                Route("/static-page", cached()(body)),
                Route("/timed", cached(revalidate=60)(body)),
                Route("/live", cached(dynamic=True)(body)),
                Route("/declared", cached(query=page_number)(body)),
                Route("/missing", cached()(missing)),
                Route("/write", write_softly, methods=["POST"]),
                Route("/write-hard", write, methods=["POST"]),
            ],
            middleware=middleware,
        )


@asynccontextmanager
async def client_of(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


class StoreThatFailsOneBump(MemoryStore):
    """A store that refuses the next bump once (a blip), then works again."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self.fail_next_bump = False

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        if self.fail_next_bump:
            self.fail_next_bump = False
            raise StoreUnavailable("blip")
        await super().bump(tags, soft=soft)


# -- holes ------------------------------------------------------------------------------

PAGE = '<p>Hello <esi:include src="/holes/who"/>, <esi:include src="/holes/ada-only" />.</p>'


@dataclass(frozen=True)
class Person:
    """A visitor: ``key`` is who they are."""

    key: str
    expires_at: float = float("inf")


def fill(src: str, visitor: Visitor | None) -> bytes:
    """``/holes/who`` holds the visitor's name (a way to sign in for nobody);
    ``/holes/ada-only`` holds a secret for Ada alone."""
    if src == "/holes/who":
        return b"<a>Sign in</a>" if visitor is None else f"<b>{visitor.key}</b>".encode()
    if src == "/holes/ada-only":
        return b"secret" if visitor is not None and visitor.key == "ada" else b""
    return b""
