"""A request asked again exactly is answered again without a read, while nothing moved."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import pairwise

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Scope

from app.cache import (
    Cache,
    CacheMiddleware,
    Holes,
    MemoryStore,
    Repeats,
    RepeatsMiddleware,
    Visitor,
    cache_tag,
    cached,
    cookie_of,
)
from app.cache.entry import Entry, Freshness
from app.cache.keys import ONE_VARIANT
from app.cache.repeats import MAX_SHAPES, named_cookies
from tests.cache.helpers import PAGE, Clock, Person, Site, client_of, fill
from tests.cache.helpers import StoreThatFailsOneBump as FlakyStore


class CountingStore(MemoryStore):
    """Counts reads; ``hold`` keeps a read that found its entry waiting at a gate."""

    def __init__(self) -> None:
        super().__init__(1 << 20)
        self.reads = 0
        self.hold: asyncio.Event | None = None
        self.held = asyncio.Event()

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        self.reads += 1
        found = await super().get(key, now)
        if self.hold is not None:
            self.held.set()
            await self.hold.wait()
        return found


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def site(store: CountingStore) -> Site:
    return Site(store, repeats=True)


@pytest.fixture
async def client(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(site.app) as client:
        yield client


def hits(site: Site) -> int:
    return site.cache.metrics.hits.value


async def test_a_repeated_request_is_answered_again_without_a_read(
    site: Site, store: CountingStore, client: httpx.AsyncClient
) -> None:
    first = await client.get("/static-page")  # MISS: rendered and stored
    second = await client.get("/static-page")  # HIT: read, and kept
    reads = store.reads
    again = [await client.get("/static-page") for _ in range(3)]

    assert first.headers["x-cache"] == "MISS" and second.headers["x-cache"] == "HIT"
    assert store.reads == reads  # no read for the repeats
    assert all(r.content == second.content and r.headers == second.headers for r in again)
    assert hits(site) == 4  # a repeat counts as a HIT, like any other
    assert site.renders == 1


async def test_a_bump_ends_the_repeats(site: Site, client: httpx.AsyncClient) -> None:
    await client.get("/static-page")
    before = await client.get("/static-page")
    await site.cache.revalidate_tag("data")
    after = await client.get("/static-page")

    assert after.headers["x-cache"] == "MISS"
    assert after.text != before.text
    assert site.renders == 2


async def test_a_shape_kept_after_a_bump_drops_the_ones_kept_before(
    site: Site, client: httpx.AsyncClient
) -> None:
    a, b = {"Accept-Encoding": "a"}, {"Accept-Encoding": "b"}  # two shapes of one entry
    await client.get("/static-page", headers=a)
    before = await client.get("/static-page", headers=a)  # A kept
    await site.cache.revalidate_tag("data")
    await client.get("/static-page", headers=b)
    await client.get("/static-page", headers=b)  # B kept, after the bump
    again = await client.get("/static-page", headers=a)

    assert before.headers["x-cache"] == "HIT"
    assert again.text != before.text  # A's answer from before the write was not given again
    assert again.headers["x-cache"] == "HIT" and site.renders == 2


class PeopleSite:
    """A page with holes for whoever a ``who`` cookie names, whose session ends at ``ends``."""

    def __init__(self, cookies: tuple[str, ...] | None = None) -> None:
        self.clock = Clock()
        self.ends = self.clock.now + 100

        async def visitor_of(scope: Scope) -> Visitor | None:
            self.asked += 1
            who = cookie_of(scope, "who")
            return None if who is None else Person(who.decode(), self.ends)

        self.cache = Cache(
            MemoryStore(1 << 20),
            now=self.clock,
            holes=Holes(visitor_of=visitor_of, fill=fill, cookies=cookies),
        )
        self.repeats = Repeats(self.cache, ONE_VARIANT.asked_by)
        self.renders = 0
        self.asked = 0  # how many times a request's visitor was worked out

        async def page(request: Request) -> str:
            self.renders += 1
            cache_tag("data")
            return PAGE

        self.app = Starlette(
            routes=[Route("/page", cached()(page)), Route("/timed", cached(revalidate=60)(page))],
            middleware=[
                Middleware(RepeatsMiddleware, repeats=self.repeats),
                Middleware(CacheMiddleware, cache=self.cache, repeats=self.repeats),
            ],
        )


async def test_each_person_is_answered_again_with_their_own_holes_till_their_session_ends() -> None:
    site = PeopleSite()
    async with client_of(site.app) as client:
        await client.get("/page")
        ada = [await client.get("/page", headers={"Cookie": "who=ada"}) for _ in range(3)]
        bob = [await client.get("/page", headers={"Cookie": "who=bob"}) for _ in range(3)]
        nobody = await client.get("/page")
        asked, hits = site.asked, site.cache.metrics.hits.value
        site.clock.now = site.ends  # the sessions are over: who asks is worked out again
        site.ends += 100
        later = await client.get("/page", headers={"Cookie": "who=ada"})

    assert all("<b>ada</b>" in r.text and "secret" in r.text for r in ada)
    assert all("<b>bob</b>" in r.text and "secret" not in r.text for r in bob)
    assert "Sign in" in nobody.text
    assert asked == 4  # twice each (the second asking is kept): their third was answered again
    assert hits == 7 and site.renders == 1
    assert site.asked == 5 and "<b>ada</b>" in later.text


async def test_a_person_s_answer_is_kept_from_their_second_asking_only() -> None:
    """People who each read a page once leave nothing kept (their bodies are
    theirs alone, made for them); a person who reads it again is kept."""
    site = PeopleSite()
    async with client_of(site.app) as client:
        await client.get("/page")
        crowd = [
            await client.get("/page", headers={"Cookie": f"who=p{n}"})
            for n in range(3 * MAX_SHAPES)
        ]
        kept_for_the_crowd = [shape for shape in site.repeats.kept if shape[4] is not None]
        ada = {"Cookie": "who=ada"}
        first, second = [await client.get("/page", headers=ada) for _ in range(2)]
        asked = site.asked
        third = await client.get("/page", headers=ada)

    assert all(f"<b>p{n}</b>" in r.text for n, r in enumerate(crowd))
    assert kept_for_the_crowd == []  # (shape[4]: its Cookie)
    assert site.asked == asked  # the third was answered again, without working out who asks
    assert first.text == second.text == third.text and "<b>ada</b>" in third.text


async def test_cookies_that_name_no_visitor_make_no_new_shape() -> None:
    """Other cookies (an analytics id, a preference) change no answer: with the
    app's word for it (``Holes.cookies``), a request is a repeat whatever they are."""
    site = PeopleSite(cookies=("who",))
    async with client_of(site.app) as client:
        for _ in range(2):  # a MISS, then a HIT asked once
            await client.get("/page", headers={"Cookie": "who=ada; id=1"})
        ada = await client.get("/page", headers={"Cookie": "who=ada; id=1"})  # asked again: kept
        asked, hits = site.asked, site.cache.metrics.hits.value
        again = await client.get("/page", headers={"Cookie": "id=2; who=ada; who=eve"})
        nobody = await client.get("/page", headers={"Cookie": "id=3; xwho=bob"})
        anyone = await client.get("/page", headers={"Cookie": "id=4; xwho=bob"})
        asked_after_nobody = site.asked
        bob = await client.get("/page", headers={"Cookie": "id=1; who=bob"})
        later = await client.get("/page", headers={"Cookie": "cache-read-after=1; who=ada"})

    assert again.text == ada.text and "<b>ada</b>" in ada.text  # the first who= counts
    assert site.cache.metrics.hits.value == hits + 5
    assert "Sign in" in nobody.text and anyone.text == nobody.text
    assert asked_after_nobody == asked + 1  # the second nobody was a repeat
    assert "<b>bob</b>" in bob.text and "<b>ada</b>" in later.text
    assert site.asked == asked + 3  # bob, and ada with a read-after clock: new shapes


@pytest.mark.parametrize(
    "header, named",
    [
        pytest.param(b"id=1", None, id="none-named"),
        pytest.param(b"xwho=1; id=2", None, id="a-name-inside-another"),
        pytest.param(b"id=1; who=ada", b"who=ada", id="one"),
        pytest.param(b"b=2; who=ada; a=1; who=eve", b"who=ada; b=2", id="first-of-each-in-order"),
    ],
)
def test_named_cookies(header: bytes, named: bytes | None) -> None:
    assert named_cookies(header, (b"who=", b"b=")) == named


async def test_each_header_set_has_its_own_answer(
    site: Site, store: CountingStore, client: httpx.AsyncClient
) -> None:
    site.size = 20_000  # worth compressing
    await client.get("/static-page")
    await client.get("/static-page", headers={"X-Part": "yes"})  # the part's entry
    reads = []
    for _ in range(2):  # read from the store, then each answered again as it was
        reads.append(store.reads)
        br = await client.get("/static-page", headers={"Accept-Encoding": "br"})
        plain = await client.get("/static-page", headers={"Accept-Encoding": "identity"})
        part = await client.get("/static-page", headers={"X-Part": "yes"})

        assert br.headers["content-encoding"] == "br"
        assert "content-encoding" not in plain.headers
        assert part.text.startswith("part ")
    reads.append(store.reads)

    assert [b - a for a, b in pairwise(reads)] == [3, 0]


async def test_a_timed_entry_is_not_answered_again_once_its_time_is_up(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.get("/timed")
    fresh = await client.get("/timed")
    site.clock.now += 61
    later = await client.get("/timed")

    assert fresh.headers["x-cache"] == "HIT"
    assert later.headers["x-cache"] == "STALE"


async def test_nothing_is_answered_again_while_a_bump_is_owed() -> None:
    store = FlakyStore(1 << 20)
    site = Site(store, repeats=True)
    async with client_of(site.app) as client:
        await client.get("/static-page")
        before = await client.get("/static-page")
        store.fail_next_bump = True
        await site.cache.revalidate_tag("data")  # owed, not applied: the mark says nothing
        after = await client.get("/static-page")

    assert site.cache.mark() is not None  # paid by the read that followed
    assert after.headers["x-cache"] == "MISS" and after.text != before.text


async def test_a_read_that_straddles_a_bump_is_not_given_again(
    site: Site, store: CountingStore, client: httpx.AsyncClient
) -> None:
    await client.get("/static-page")
    store.hold = asyncio.Event()
    straddling = asyncio.create_task(client.get("/static-page"))
    await store.held.wait()  # it found the entry, before the bump
    await site.cache.revalidate_tag("data")
    store.hold.set()
    old = await straddling  # concurrent with the write: the old body is allowed
    store.hold = None
    new = await client.get("/static-page")

    assert old.headers["x-cache"] == "HIT"
    assert new.headers["x-cache"] == "MISS" and new.text != old.text


async def test_at_most_max_shapes_are_kept(store: CountingStore) -> None:
    site = Site(store, repeats=True, max_shapes=2)
    async with client_of(site.app) as client:
        await client.get("/static-page")
        for tag in ("a", "b", "c"):  # three shapes: the third drops the first two
            await client.get("/static-page", headers={"If-None-Match": tag})
        reads = store.reads
        await client.get("/static-page", headers={"If-None-Match": "c"})
        await client.get("/static-page", headers={"If-None-Match": "a"})

    assert store.reads == reads + 1  # "c" was kept, "a" was dropped and read again


async def test_a_person_s_timed_page_is_answered_again_until_the_first_end() -> None:
    site = PeopleSite()  # the session ends in 100 s, the page is stale after 60
    ada = {"Cookie": "who=ada"}
    async with client_of(site.app) as client:
        await client.get("/timed")
        first = [await client.get("/timed", headers=ada) for _ in range(2)]  # the second kept
        asked = site.asked
        site.clock.now += 60
        later = await client.get("/timed", headers=ada)

    assert [r.headers["x-cache"] for r in first] == ["HIT", "HIT"] and asked == 2
    assert later.headers["x-cache"] == "STALE" and "<b>ada</b>" in later.text


async def test_requests_that_differ_only_where_the_answer_does_not_look_are_answered_again(
    site: Site, store: CountingStore, client: httpx.AsyncClient
) -> None:
    await client.get("/static-page")
    kept = await client.get("/static-page", headers={"X-Request-Id": "0"})
    reads = store.reads
    others = [
        await client.get("/static-page", headers={"X-Request-Id": str(n), "User-Agent": str(n)})
        for n in range(1, 4)
    ]

    assert store.reads == reads  # none read the store: each was answered again
    assert all(r.content == kept.content and r.headers == kept.headers for r in others)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"X-Part": "yes"}, id="variant"),
        pytest.param({"Cookie": "who=ada"}, id="cookie"),
        pytest.param({"If-None-Match": "*"}, id="conditional"),
        pytest.param({"Accept-Encoding": "br"}, id="encoding"),
        pytest.param({"Surrogate-Capability": 'edge="ESI/1.0"'}, id="edge"),
        pytest.param({"Host": "elsewhere"}, id="host"),
        pytest.param({"X-Cache-Read-After": "1"}, id="read-after"),
    ],
)
async def test_a_request_that_differs_where_the_answer_looks_is_not_answered_again(
    site: Site, store: CountingStore, client: httpx.AsyncClient, header: dict[str, str]
) -> None:
    site.size = 20_000  # worth compressing
    await client.get("/static-page", headers=header)
    await client.get("/static-page")
    await client.get("/static-page")  # kept, without the header
    reads = store.reads
    await client.get("/static-page", headers=header)

    assert store.reads == reads + 1


async def test_a_request_that_names_a_header_twice_is_served_and_never_kept(
    site: Site, store: CountingStore, client: httpx.AsyncClient
) -> None:
    cookies = [("Cookie", "who=ada"), ("Cookie", "who=bob")]  # which one counts is not ours to say
    await client.get("/static-page")
    answers = [await client.get("/static-page", headers=cookies) for _ in range(3)]

    assert [a.headers["x-cache"] for a in answers] == ["HIT"] * 3
    assert site.repeats is not None and not site.repeats.kept


async def test_headers_given_as_lists_are_served_and_kept(
    site: Site, client: httpx.AsyncClient
) -> None:
    """ASGI allows each header as a list: what it asks is the same, and answered again."""

    async def get() -> list[dict[str, object]]:
        scope = {
            "type": "http", "method": "GET", "path": "/static-page", "query_string": b"",
            "headers": [[b"host", b"t"]], "root_path": "", "scheme": "http",
            "http_version": "1.1", "client": ("127.0.0.1", 1), "server": ("t", 80),
        }  # fmt: skip
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        await site.app(scope, receive, send)
        return sent

    await client.get("/static-page")
    hits = site.cache.metrics.hits.value
    answers = [await get() for _ in range(3)]

    assert [a[0]["status"] for a in answers] == [200, 200, 200]
    assert site.repeats is not None and len(site.repeats.kept) == 1
    assert site.cache.metrics.hits.value == hits + 3
