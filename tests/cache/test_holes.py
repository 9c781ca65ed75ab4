"""Holes: per-visitor parts of shared entries, on a tiny app of its own.

Whoever sends the cookie ``who=<name>`` is that visitor; anybody else is nobody known.
``/holes/who`` holds the visitor's name (a way to sign in for nobody);
``/holes/ada-only`` holds a secret for Ada alone.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import brotli  # type: ignore[import-untyped]  # ships no type hints
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.cache import (
    Cache,
    CacheMiddleware,
    Entry,
    FillHoles,
    Holes,
    MemoryStore,
    Visitor,
    cache_tag,
    cached,
    cookie_of,
    revalidate_tag,
)
from app.cache.encoding import BROTLI_QUALITY, PERSONAL_BROTLI_QUALITY
from app.cache.holes import Assembled, join, split
from tests.cache.helpers import PAGE, Person, fill
from tests.helpers import app_client

PADDING = "x" * 2000  # enough to be stored compressed too
EDGE = {"Surrogate-Capability": 'edge="ESI/1.0"'}


class Site:
    def __init__(self, store: MemoryStore | None = None) -> None:
        self.asked: list[str] = []  # each time visitor_of ran, for which path

        async def visitor_of(scope: Scope) -> Visitor | None:
            self.asked.append(scope["path"])
            who = cookie_of(scope, "who")
            return None if who is None else Person(who.decode())

        self.holes = Holes(visitor_of=visitor_of, fill=fill)
        self.cache = Cache(store or MemoryStore(1 << 20), holes=self.holes)
        self.renders = 0

        async def page(request: Request) -> str:
            self.renders += 1
            cache_tag("data")
            return PAGE + PADDING

        async def no_holes(request: Request) -> str:
            return "<p>nothing personal</p>"

        async def plain(request: Request) -> Response:
            return HTMLResponse(PAGE)

        async def streamed(request: Request) -> Response:
            async def parts() -> AsyncIterator[bytes]:
                yield PAGE[:20].encode()
                yield PAGE[20:].encode()

            return StreamingResponse(parts(), media_type="text/html")

        async def text(request: Request) -> Response:
            return PlainTextResponse(PAGE)

        async def write(request: Request) -> Response:
            async with self.cache.after_commit():
                await revalidate_tag("data")
            return PlainTextResponse("written")

        self.app = Starlette(
            routes=[
                Route("/page", cached()(page)),
                Route("/dynamic", cached(dynamic=True)(page)),
                Route("/no-holes", cached()(no_holes)),
                Route("/plain", plain),
                Route("/streamed", streamed),
                Route("/text", text),
                Route("/write", write, methods=["POST"]),
            ],
            middleware=[
                Middleware(CacheMiddleware, cache=self.cache),
                Middleware(FillHoles, holes=self.holes),
            ],
        )


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def client(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(site.app) as client:
        yield client


def filled(who: str, secret: str = "") -> str:
    return f"<p>Hello {who}, {secret}.</p>" + PADDING


ANONYMOUS = filled("<a>Sign in</a>")


async def test_nobody_known_gets_the_anonymous_fills_stored_with_the_entry(
    site: Site, client: httpx.AsyncClient
) -> None:
    first = await client.get("/page", headers={"Accept-Encoding": "identity"})
    second = await client.get("/page", headers={"Accept-Encoding": "identity"})
    br = await client.get("/page", headers={"Accept-Encoding": "br"})
    zipped = await client.get("/page", headers={"Accept-Encoding": "gzip"})

    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.text == second.text == br.text == zipped.text == ANONYMOUS
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["etag"].endswith('-public"')
    assert first.headers["cache-control"] == "no-cache"
    # The store keeps the markers; its encodings, made as asked, are the anonymous body.
    found = await site.cache.lookup("/page? page")
    assert found is not None
    entry = found[0]
    assert entry.body == (PAGE + PADDING).encode()
    assert entry.derived.encoded is not None
    assert brotli.decompress(entry.derived.encoded["br"]) == ANONYMOUS.encode()
    assert gzip.decompress(entry.derived.encoded["gzip"]) == ANONYMOUS.encode()
    assert site.renders == 1


async def test_a_known_visitor_s_encoding_is_made_of_their_body_and_the_shared_one_is_not(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.get("/page", headers={"Accept-Encoding": "identity"})
    ada = await client.get("/page", headers={"Cookie": "who=ada", "Accept-Encoding": "br"})
    found = await site.cache.lookup("/page? page")
    assert found is not None
    made = found[0].derived.encoded
    nobody = await client.get("/page", headers={"Accept-Encoding": "br"})

    assert ada.headers["content-encoding"] == "br" and ada.text == filled("<b>ada</b>", "secret")
    assert made is None  # nobody known had asked for br yet
    assert nobody.text == ANONYMOUS
    assert nobody.headers["etag"] != ada.headers["etag"]
    assert ada.headers["etag"].startswith(nobody.headers["etag"][:-1])  # the shared part's, and who


async def test_a_known_visitor_s_body_is_compressed_fast_the_shared_one_well(
    client: httpx.AsyncClient,
) -> None:
    """A person's body is compressed for them alone, on their first read of a
    page (a writer's next read): brotli at quality 1; the shared one, made once
    for everyone, at 5."""
    raw = {}
    for who, cookie in (("ada", {"Cookie": "who=ada"}), ("nobody", {})):
        headers = {**cookie, "Accept-Encoding": "br"}
        async with client.stream("GET", "/page", headers=headers) as answer:
            assert answer.headers["content-encoding"] == "br"
            raw[who] = b"".join([chunk async for chunk in answer.aiter_raw()])

    mine = (filled("<b>ada</b>", "secret")).encode()
    assert raw["ada"] == brotli.compress(mine, quality=PERSONAL_BROTLI_QUALITY)
    assert raw["nobody"] == brotli.compress(ANONYMOUS.encode(), quality=BROTLI_QUALITY)
    assert PERSONAL_BROTLI_QUALITY < BROTLI_QUALITY


class SharedStore(MemoryStore):
    shared = True  # as Redis is: the encodings are made with the entry, for every process


async def test_a_shared_store_s_encodings_are_made_of_the_anonymous_body() -> None:
    site = Site(SharedStore(1 << 20))
    async with app_client(site.app) as client:
        await client.get("/page", headers={"Accept-Encoding": "identity"})
        ada = await client.get("/page", headers={"Cookie": "who=ada", "Accept-Encoding": "br"})
    found = await site.cache.lookup("/page? page")

    assert ada.headers["content-encoding"] == "br" and ada.text == filled("<b>ada</b>", "secret")
    assert found is not None
    encoded = dict(found[0].encoded)
    assert (
        brotli.decompress(encoded["br"]) == gzip.decompress(encoded["gzip"]) == ANONYMOUS.encode()
    )


async def test_each_visitor_gets_their_own_holes_from_one_shared_entry(
    site: Site, client: httpx.AsyncClient
) -> None:
    ada = await client.get("/page", headers={"Cookie": "who=ada"})
    bob = await client.get("/page", headers={"Cookie": "who=bob", "Accept-Encoding": "gzip"})
    nobody = await client.get("/page")

    assert ada.text == filled("<b>ada</b>", "secret")
    assert bob.text == filled("<b>bob</b>")
    assert nobody.text == ANONYMOUS
    assert [r.headers["x-cache"] for r in (ada, bob, nobody)] == ["MISS", "HIT", "HIT"]
    assert site.renders == 1
    assert bob.headers["content-encoding"] == "gzip"
    assert ada.headers["cache-control"] == bob.headers["cache-control"] == "private, no-cache"
    assert len({ada.headers["etag"], bob.headers["etag"], nobody.headers["etag"]}) == 3
    assert "ada" not in ada.headers["etag"]  # a digest of who, not who


async def test_people_s_plain_hits_share_all_headers_but_their_etag_and_length(
    site: Site, client: httpx.AsyncClient
) -> None:
    def plain(who: str) -> dict[str, str]:  # (httpx asks for br and gzip unless told)
        return {"Cookie": f"who={who}", "Accept-Encoding": "identity"}

    await client.get("/page")
    ada, bob, ada_again = [
        await client.get("/page", headers=plain(who)) for who in ("ada", "bob", "ada")
    ]
    await client.post("/write")
    await client.get("/page")
    after = await client.get("/page", headers=plain("bobby"))

    def shared(answer: httpx.Response) -> list[tuple[str, str]]:
        return [(k, v) for k, v in answer.headers.items() if k not in ("etag", "content-length")]

    for answer in (ada, bob, after):
        assert answer.headers["x-cache"] == "HIT"
        assert answer.headers["content-length"] == str(len(answer.content))
    assert shared(ada) == shared(bob) == shared(after)
    assert ada.headers["cache-control"] == "private, no-cache"
    assert ada.text == filled("<b>ada</b>", "secret") and bob.text == filled("<b>bob</b>")
    assert after.text == filled("<b>bobby</b>")  # the new entry's, a longer name
    assert ada.headers["etag"] == ada_again.headers["etag"] != bob.headers["etag"]
    assert after.headers["etag"] not in (ada.headers["etag"], bob.headers["etag"])


async def test_a_visitor_reading_again_gets_the_bytes_put_together_once(
    site: Site, client: httpx.AsyncClient
) -> None:
    ada = {"Cookie": "who=ada", "Accept-Encoding": "gzip"}  # (a plain one: test_audiences.py)
    first = await client.get("/page", headers=ada)
    assembled = site.holes.assembled.bytes
    again = await client.get("/page", headers=ada)

    assert again.text == first.text and again.headers["etag"] == first.headers["etag"]
    assert site.holes.assembled.bytes == assembled > len(first.content)

    # After an invalidation the entry is new: so is what is put together from it.
    await client.post("/write")
    changed = await client.get("/page", headers=ada)
    assert changed.headers["x-cache"] == "MISS" and site.renders == 2
    assert changed.text == first.text  # the same words, made again


async def test_if_none_match_is_per_visitor(client: httpx.AsyncClient) -> None:
    ada = (await client.get("/page", headers={"Cookie": "who=ada"})).headers["etag"]
    bob = (await client.get("/page", headers={"Cookie": "who=bob"})).headers["etag"]

    same = await client.get("/page", headers={"Cookie": "who=ada", "If-None-Match": ada})
    other = await client.get("/page", headers={"Cookie": "who=ada", "If-None-Match": bob})

    assert same.status_code == 304 and same.content == b""
    assert same.headers["cache-control"] == "private, no-cache"
    assert other.status_code == 200 and "<b>ada</b>" in other.text


async def test_an_edge_that_fills_holes_gets_the_markers(
    site: Site, client: httpx.AsyncClient
) -> None:
    first = await client.get("/page", headers={**EDGE, "Accept-Encoding": "gzip"})
    second = await client.get("/page", headers={**EDGE, "Cookie": "who=ada"})

    for answer in (first, second):
        assert answer.text == PAGE + PADDING
        assert answer.headers["surrogate-control"] == 'content="ESI/1.0"'
        assert "content-encoding" not in answer.headers  # the edge compresses what it assembles
        assert answer.headers["cache-control"] == "no-cache"
    assert second.headers["x-cache"] == "HIT"
    assert site.asked == []  # nobody's session was looked at


async def test_who_asks_is_only_worked_out_for_an_answer_with_holes(
    site: Site, client: httpx.AsyncClient
) -> None:
    for _ in range(2):
        answer = await client.get("/no-holes", headers={"Cookie": "who=ada"})
        assert answer.text == "<p>nothing personal</p>"
        assert answer.headers["cache-control"] == "no-cache"
    await client.get("/page", headers={"Cookie": "who=ada"})  # a miss, through the route
    await client.get("/page", headers={"Cookie": "who=ada"})  # a HIT, before routing
    await client.get("/page")  # no cookie: nobody known, without asking

    assert site.asked == ["/page", "/page"]


async def test_answers_from_outside_the_cache_are_filled_on_their_way_out(
    client: httpx.AsyncClient,
) -> None:
    plain = await client.get("/plain", headers={"Cookie": "who=ada"})
    nobody = await client.get("/plain")
    streamed = await client.get("/streamed", headers={"Cookie": "who=bob"})
    dynamic = await client.get("/dynamic", headers={"Cookie": "who=ada"})
    dynamic_edge = await client.get("/dynamic", headers=EDGE)
    edge = await client.get("/plain", headers=EDGE)
    text = await client.get("/text", headers={"Cookie": "who=ada"})

    assert plain.text == "<p>Hello <b>ada</b>, secret.</p>"
    assert plain.headers["cache-control"] == "private, no-cache"
    assert plain.headers["content-length"] == str(len(plain.content))
    assert nobody.text == "<p>Hello <a>Sign in</a>, .</p>"
    assert "cache-control" not in nobody.headers
    assert streamed.text == "<p>Hello <b>bob</b>, .</p>"
    assert dynamic.text == filled("<b>ada</b>", "secret")
    assert dynamic.headers["x-cache"] == "BYPASS"
    assert dynamic.headers["cache-control"] == "private, no-cache"
    assert dynamic_edge.text == PAGE + PADDING
    assert dynamic_edge.headers["surrogate-control"] == 'content="ESI/1.0"'
    assert edge.text == PAGE and edge.headers["surrogate-control"] == 'content="ESI/1.0"'
    assert text.text == PAGE  # only HTML has holes


async def test_fill_holes_passes_other_scopes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    holes = Holes(visitor_of=lambda scope: None, fill=fill)  # type: ignore[arg-type, return-value]
    await FillHoles(app, holes)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]

    assert seen == ["lifespan"]


def test_split_and_join() -> None:
    assert split(b"no holes here") == [b"no holes here"]
    assert join([b"no holes here"], None, fill) == b"no holes here"
    pieces = split(PAGE.encode())
    assert pieces[1::2] == [b"/holes/who", b"/holes/ada-only"]
    assert join(pieces, Person("ada"), fill) == b"<p>Hello <b>ada</b>, secret.</p>"


def test_assembled_answers_are_bounded_by_bytes_most_recent_kept() -> None:
    assembled = Assembled(max_bytes=100)
    assembled.put("a", "A", 40)
    assembled.put("b", "B", 40)
    assert assembled.get("a") == "A"  # now the most recent
    assembled.put("c", "C", 40)  # over the bound: "b", the least recent, goes

    assert (assembled.get("a"), assembled.get("b"), assembled.get("c")) == ("A", None, "C")
    assembled.put("c", "C2", 50)  # replaced, counted once
    assert assembled.bytes == 90
    assembled.put("huge", "H", 101)  # never kept: it would empty the memo for nothing
    assert assembled.get("huge") is None and assembled.bytes == 90


def test_a_new_entry_object_for_the_same_body_reuses_what_was_worked_out() -> None:
    """A shared store (Redis) hands out a new Entry per read: its holes are not
    worked out again on every HIT, but found by its ETag."""
    filled: list[str] = []

    def counted(src: str, visitor: Visitor | None) -> bytes:
        filled.append(src)
        return fill(src, visitor)

    holes = Holes(visitor_of=lambda scope: None, fill=counted)  # type: ignore[arg-type, return-value]

    def read() -> Entry:
        return Entry(key="k", body=PAGE.encode(), tags=frozenset(), snapshot=1, created_at=0.0)

    first, second = read(), read()
    assert holes.public_of(first) == b"<p>Hello <a>Sign in</a>, .</p>"
    worked = len(filled)
    assert holes.public_of(second) == holes.public_of(first)
    assert holes.pieces(second) is holes.pieces(first)
    assert len(filled) == worked == 2  # each hole filled once, for both reads
    plain = Entry(key="p", body=b"no holes", tags=frozenset(), snapshot=1, created_at=0.0)
    assert holes.public_of(plain) is plain.body and holes.pieces(plain) == [plain.body]
