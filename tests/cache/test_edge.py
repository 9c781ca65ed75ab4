"""An edge cache purged by tag: here an ASGI stand-in that speaks Varnish's xkey
purge (tests/edge/ drives the real Varnish), behind a real httpx client."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.cache import (
    Cache,
    CacheMiddleware,
    Edge,
    EdgeUnavailable,
    MemoryStore,
    cache_tag,
    cached,
    revalidate_tag,
)
from app.cache.edge import edge_keys


class FakeEdge:
    """Records each purge; answers ``status`` (200: acknowledged)."""

    def __init__(self) -> None:
        self.purges: list[tuple[str, str]] = []  # (method, xkey-purge)
        self.status = 200
        self.purged = asyncio.Event()  # set at each purge

        async def purge(request: Request) -> Response:
            self.purges.append((request.method, request.headers["xkey-purge"]))
            self.purged.set()
            return PlainTextResponse("purged", self.status)

        self.app = Starlette(routes=[Route("/", purge, methods=["PURGE", "SOFTPURGE"])])

    def edge(self, repurge_after: float = 60.0) -> Edge:
        transport = httpx.ASGITransport(app=self.app)
        return Edge("http://edge", transport=transport, repurge_after=repurge_after)


@pytest.fixture
def fake() -> FakeEdge:
    return FakeEdge()


async def test_a_bump_purges_the_edge_by_tag_hard_or_soft(fake: FakeEdge) -> None:
    cache = Cache(MemoryStore(1 << 20), edges=[fake.edge()])
    await cache.revalidate_tag("b")
    await cache.revalidate_tag("a", stale=True)
    async with cache.after_commit() as commit:
        await cache.revalidate_tag("y")
        await cache.revalidate_tag("x")
    await cache.invalidations.apply(frozenset({"z"}), stale=False)  # an outbox row
    await cache.close()

    assert fake.purges == [
        ("PURGE", "b"),
        ("SOFTPURGE", "a"),
        ("PURGE", "x y"),
        ("PURGE", "z"),
    ]
    assert commit.applied


async def test_a_purge_not_acknowledged_leaves_the_commit_unapplied_for_the_outbox(
    fake: FakeEdge,
) -> None:
    cache = Cache(MemoryStore(1 << 20), edges=[fake.edge()])
    fake.status = 503
    async with cache.after_commit() as commit:
        await cache.revalidate_tag("t")

    assert not commit.applied  # the outbox keeps its row
    with pytest.raises(EdgeUnavailable):
        await cache.invalidations.apply(frozenset({"t"}), stale=False)
    assert cache.metrics.store_errors._value.get() == 1


async def test_each_purge_is_made_once_more_a_moment_later(
    fake: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    """A fetch under way at the first purge may store an old body after it."""
    edge = fake.edge(repurge_after=0.0)
    await edge.purge(frozenset({"t"}), stale=False)
    await asyncio.gather(*edge._again)  # the spare one, made
    assert fake.purges == [("PURGE", "t"), ("PURGE", "t")]

    await edge.purge(frozenset({"u"}), stale=True)  # acknowledged...
    fake.status = 503  # ...and its spare one fails: only logged, the first was taken
    await asyncio.gather(*edge._again)
    await edge.close()

    assert fake.purges[-2:] == [("SOFTPURGE", "u"), ("SOFTPURGE", "u")]
    assert "made again, failed" in caplog.text


async def test_a_spare_purge_still_waiting_is_dropped_on_close(fake: FakeEdge) -> None:
    edge = fake.edge(repurge_after=60.0)
    await edge.purge(frozenset({"t"}), stale=False)
    await edge.close()

    assert fake.purges == [("PURGE", "t")] and not edge._again


async def test_an_edge_out_of_reach_is_unavailable() -> None:
    edge = Edge("http://127.0.0.1:9", timeout=0.5)  # the discard port: nobody listens
    with pytest.raises(EdgeUnavailable):
        await edge.purge(frozenset({"t"}), stale=False)
    await edge.close()


async def test_everything_can_be_purged_at_once(fake: FakeEdge) -> None:
    edge = fake.edge()
    await edge.purge_everything()

    assert fake.purges == [("PURGE", "*")]


def test_a_tag_the_edge_would_split_goes_by_its_digest() -> None:
    keys = edge_keys(frozenset({"tickets:all", "path:/a b", "path:/a,b", "path:/é"})).split()

    assert "tickets:all" in keys and len(keys) == 4
    assert all(key == "tickets:all" or (key[0] == "#" and len(key) == 33) for key in keys)
    assert edge_keys(frozenset({"path:/a b"})) == edge_keys(frozenset({"path:/a b"}))


async def test_an_edge_asking_gets_the_tags_and_cache_status_of_each_layer() -> None:
    cache = Cache(MemoryStore(1 << 20))

    async def page(request: Request) -> str:
        cache_tag("data")
        return "page"

    async def write(request: Request) -> Response:
        await revalidate_tag("data")
        return PlainTextResponse("written")

    app = Starlette(
        routes=[Route("/page", cached()(page)), Route("/write", write, methods=["POST"])],
        middleware=[Middleware(CacheMiddleware, cache=cache)],
    )
    edge = {"Surrogate-Capability": 'edge="ESI/1.0"'}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        first = await http.get("/page", headers=edge)
        second = await http.get("/page", headers=edge)
        browser = await http.get("/page")
        written = await http.post("/write")

    assert first.headers["cache-status"] == "tickets; fwd=miss"
    assert second.headers["cache-status"] == "tickets; hit"
    assert "data" in first.headers["xkey"].split() and "path:/page" in first.headers["xkey"]
    assert "xkey" not in browser.headers  # only an edge is told
    assert written.headers["cache-status"] == "tickets; fwd=bypass"
