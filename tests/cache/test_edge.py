"""An edge cache purged by tag: here a small HTTP/1.1 server on 127.0.0.1 that
speaks Varnish's xkey purge (tests/edge/ drives the real Varnish)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import h11
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
    EdgeObject,
    EdgeUnavailable,
    MemoryStore,
    cache_tag,
    cached,
    revalidate_tag,
)
from app.cache.edge import KEEP_CONNECTIONS, edge_keys
from tests.cache.helpers import Site, client_of


class FakeEdge:
    """Records each purge; answers ``status`` (200: acknowledged). ``hang_up``:
    closes each connection after its answer, as an edge does with idle ones;
    ``say_close``: says so in the answer (``Connection: close``)."""

    def __init__(self) -> None:
        self.purges: list[tuple[str, str]] = []  # (method, xkey-purge)
        self.kept: dict[
            tuple[str, str], list[tuple[str, str]]
        ] = {}  # (target, who) -> what it says
        self.probes: list[tuple[str, str, dict[bytes, bytes]]] = []  # (target, who, headers)
        self.status = 200
        self.hang_up = False
        self.say_close = False
        self.opened = 0  # connections accepted
        self.open = 0  # connections not closed yet
        self.changed = asyncio.Condition()  # notified when ``open`` moves
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> FakeEdge:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def edge(self, repurge_after: float = 60.0) -> Edge:
        return Edge(f"http://127.0.0.1:{self.port}", repurge_after=repurge_after)

    async def wait_open(self, count: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.open == count)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._count(+1)
        http = h11.Connection(h11.SERVER)
        try:
            while True:
                event = http.next_event()
                if event is h11.NEED_DATA:
                    http.receive_data(await reader.read(4096))
                elif isinstance(event, h11.Request):
                    status, said = self._answer(event)
                elif isinstance(event, h11.EndOfMessage):
                    said += [("Content-Length", "6")] + [("Connection", "close")] * self.say_close
                    answer = h11.Response(status_code=status, headers=said)
                    for part in (answer, h11.Data(data=b"purged"), h11.EndOfMessage()):
                        writer.write(http.send(part))
                    await writer.drain()
                    if self.hang_up or self.say_close:
                        break
                    http.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    break
        finally:
            writer.close()
            await self._count(-1)

    def _answer(self, request: h11.Request) -> tuple[int, list[tuple[str, str]]]:
        headers = dict(request.headers)
        if request.method == b"GET":  # a probe
            target, who = request.target.decode(), headers[b"x-edge-probe"].decode()
            self.probes.append((target, who, headers))
            kept = self.kept.get((target, who))
            return (404, []) if kept is None else (self.status, list(kept))
        self.purges.append((request.method.decode(), headers[b"xkey-purge"].decode()))
        return self.status, []

    async def _count(self, change: int) -> None:
        async with self.changed:
            self.open += change
            self.opened += change > 0
            self.changed.notify_all()

    async def stop(self) -> None:
        """After the test closed its edge: every connection's handler has ended."""
        assert self.server is not None
        self.server.close()
        await self.wait_open(0)
        await self.server.wait_closed()


@pytest.fixture
async def fake() -> AsyncIterator[FakeEdge]:
    edge = await FakeEdge().start()
    yield edge
    await edge.stop()


async def test_a_bump_purges_the_edge_by_tag_hard_or_soft(fake: FakeEdge) -> None:
    cache = Cache(MemoryStore(1 << 20), edges=[fake.edge()])
    await cache.revalidate_tag("b")
    await cache.revalidate_tag("a", soft=True)
    async with cache.after_commit() as commit:
        await cache.revalidate_tag("y")
        await cache.revalidate_tag("x")
    await cache.invalidations.apply(frozenset({"z"}), soft=False)  # an outbox row
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
        await cache.invalidations.apply(frozenset({"t"}), soft=False)
    await cache.close()
    assert cache.metrics.store_errors._value.get() == 1


async def test_each_purge_is_made_once_more_a_moment_later(
    fake: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    """A fetch under way at the first purge may store an old body after it."""
    edge = fake.edge(repurge_after=0.0)
    await edge.purge(frozenset({"t"}), soft=False)
    await asyncio.gather(*edge._again)  # the spare one, made
    assert fake.purges == [("PURGE", "t"), ("PURGE", "t")]

    edge.patience = 0.2  # how long a failing spare purge is retried
    await edge.purge(frozenset({"u"}), soft=True)  # acknowledged...
    fake.status = 503  # ...and its spare one fails: retried with back-off, then logged
    await asyncio.gather(*edge._again)
    await edge.close()

    spares = fake.purges[3:]
    assert fake.purges[2] == ("SOFTPURGE", "u") and len(spares) >= 3  # 0.05, 0.1, then 0.05
    assert set(spares) == {("SOFTPURGE", "u")}
    assert "made again, failed" in caplog.text


async def test_a_spare_purge_still_waiting_is_dropped_on_close(fake: FakeEdge) -> None:
    edge = fake.edge(repurge_after=60.0)
    await edge.purge(frozenset({"t"}), soft=False)
    await edge.close()

    assert fake.purges == [("PURGE", "t")] and not edge._again


async def test_a_purge_that_ends_after_close_keeps_no_connection(fake: FakeEdge) -> None:
    edge = fake.edge()
    await edge.close()
    await edge.purge(frozenset({"late"}), soft=False)  # the last write's, at shutdown
    await asyncio.wait_for(fake.wait_open(0), 5)  # closed, not kept

    assert fake.purges == [("PURGE", "late")] and not edge._idle
    await edge.close()  # its spare purge


async def test_purges_share_kept_connections_and_open_new_ones_when_the_edge_closed_them(
    fake: FakeEdge,
) -> None:
    edge = fake.edge()
    for tag in "abc":
        await edge.purge(frozenset({tag}), soft=False)
    assert fake.opened == 1  # one connection, kept

    fake.hang_up = True  # the edge closes each after its answer (idle ones, for Varnish)
    await edge.purge(frozenset({"d"}), soft=False)
    await fake.wait_open(0)
    await edge.purge(frozenset({"e"}), soft=False)  # the kept one is gone: a new one
    fake.hang_up, fake.say_close = False, True
    await edge.purge(frozenset({"f"}), soft=False)  # said it closes: not kept
    await edge.purge(frozenset({"g"}), soft=False)
    await edge.close()

    assert [keys for _, keys in fake.purges] == [*"abcd", "e", "f", "g"]  # each acknowledged
    assert fake.opened == 4  # the first, the one after the hang-up, and one per Connection: close


async def test_purges_at_once_each_get_a_connection_and_a_few_are_kept(fake: FakeEdge) -> None:
    edge = fake.edge()
    at_once = KEEP_CONNECTIONS + 2
    await asyncio.gather(*(edge.purge(frozenset({f"t{n}"}), soft=False) for n in range(at_once)))

    assert fake.opened == at_once
    await fake.wait_open(KEEP_CONNECTIONS)  # the rest were closed
    await edge.close()
    await fake.wait_open(0)


async def test_an_edge_that_does_not_answer_in_time_is_unavailable() -> None:
    accepted, ended = asyncio.Event(), asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # until the client gives up and closes
        writer.close()
        ended.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    address = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    # A purge waits up to its patience (8 s unless told), a probe its timeout.
    edge = Edge(address, timeout=0.2, patience=0.2)
    with pytest.raises(EdgeUnavailable, match="TimeoutError"):
        await edge.purge(frozenset({"t"}), soft=False)
    assert accepted.is_set()
    await edge.close()
    await ended.wait()  # the client hung up: the timeout closed its connection
    server.close()
    await server.wait_closed()


async def test_a_probe_says_what_the_edge_keeps_for_a_request(fake: FakeEdge) -> None:
    edge = fake.edge()
    said = [("x-edge-age", "2.5"), ("x-edge-ttl", "-1.0"), ("x-edge-hits", "7")]
    fake.kept[("/tickets", "person")] = [*said, ("x-edge-keys", "tickets:all")]
    fake.kept[("/other", "anonymous")] = said  # kept with no keys

    kept = await edge.probe("/tickets", who="person", headers=[("Accept-Encoding", "br")])
    other = await edge.probe("/other", who="anonymous", host="tickets.example")
    absent = await edge.probe("/tickets", who="anonymous")
    with pytest.raises(EdgeUnavailable, match="LocalProtocolError"):
        await edge.probe("/a path with spaces", who="anonymous")  # nothing h11 could send
    fake.status = 403
    with pytest.raises(EdgeUnavailable, match="probe /tickets"):
        await edge.probe("/tickets", who="person")
    await edge.close()

    assert kept == EdgeObject(age=2.5, ttl=-1.0, hits=7, keys="tickets:all")
    assert other is not None and other.keys == "" and absent is None
    assert fake.probes[0][2][b"accept-encoding"] == b"br"
    assert fake.probes[0][2][b"host"] == f"127.0.0.1:{fake.port}".encode()  # its own address
    assert fake.probes[1][2][b"host"] == b"tickets.example"  # where browsers reach it


def test_an_edge_is_reached_over_http() -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        Edge("https://edge.example")


async def test_an_edge_out_of_reach_is_unavailable() -> None:
    edge = Edge("http://127.0.0.1:9", timeout=0.5)  # the discard port: nobody listens
    with pytest.raises(EdgeUnavailable):
        await edge.purge(frozenset({"t"}), soft=False)
    await edge.close()


async def test_everything_can_be_purged_at_once(fake: FakeEdge) -> None:
    edge = fake.edge()
    await edge.purge_everything()
    await edge.close()

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


async def test_an_answer_rendered_across_a_write_is_given_without_tags_for_no_edge_to_keep() -> (
    None
):
    """The store refuses an entry whose data moved while it was rendered; the
    edge that asked must not keep it either: no xkey, ``private, no-store``.
    The reader who joined that render gets the same."""
    site = Site()
    site.gate = asyncio.Event()
    edge = {"Surrogate-Capability": 'edge="tags"'}
    async with client_of(site.app) as http:
        leader = asyncio.create_task(http.get("/static-page", headers=edge))
        await site.started.wait()  # it has read its data
        joiner = asyncio.create_task(http.get("/static-page", headers=edge))
        while site.cache.waiting == 0:  # until it has joined the render in flight
            await asyncio.sleep(0)
        await site.cache.revalidate_tag("data")  # the write lands mid-render
        site.gate.set()
        answers = [await leader, await joiner]
        kept = site.cache.store.stats()[:2]  # entries, bytes
        after = await http.get("/static-page", headers=edge)

    assert [answer.headers["x-cache"] for answer in answers] == ["MISS", "HIT"]
    for answer in answers:
        assert answer.text.startswith("<html>page 1 ")  # its asker still gets it
        assert "xkey" not in answer.headers and "etag" not in answer.headers
        assert answer.headers["cache-control"] == "private, no-store"
    assert kept == (0, 0)  # refused: moved
    assert site.cache.misses.of("/static-page? page") is not None
    assert after.text.startswith("<html>page 2 ") and "data" in after.headers["xkey"].split()
    assert after.headers["cache-control"] == "no-cache"
