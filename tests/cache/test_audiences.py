"""Audiences: a page's holes filled once per audience set, not once per person.

``/holes/who`` is personal (the visitor's name); ``/holes/for/<name>`` is for
that person and for admins (an audience); nobody known gets nothing in it.
Every answer is checked against the oracle: the stored body's pieces joined
with every hole filled for that visitor, one by one (``join``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Scope

from app.cache import Cache, CacheMiddleware, Holes, MemoryStore, Visitor, cached, cookie_of
from app.cache.holes import join, split
from tests.helpers import app_client

PAGE = (
    '<p><esi:include src="/holes/who"/>: <esi:include src="/holes/for/ada"/>'
    '|<esi:include src="/holes/for/bob"/>|<esi:include src="/holes/nobody"/>'
    '|<esi:include src="/holes/for/ada"/>.</p>' + "x" * 2000
)
PLAIN = {"Accept-Encoding": "identity"}


@dataclass(frozen=True)
class Member:
    """A visitor who is in their own audience, or in every one (an admin)."""

    key: str
    admin: bool = False
    expires_at: float = float("inf")

    def audiences(self, named: frozenset[str]) -> frozenset[str]:
        return named if self.admin else named & {self.key}


def audience(src: str) -> str | None:
    if src == "/holes/who":
        return None
    return src.removeprefix("/holes/for/") if src.startswith("/holes/for/") else "no one"


class Site:
    def __init__(self) -> None:
        self.filled: list[tuple[str, str | None]] = []  # (src, visitor key) of each fill

        def fill(src: str, visitor: Visitor | None) -> bytes:
            self.filled.append((src, None if visitor is None else visitor.key))
            if visitor is None:
                return b"?" if src == "/holes/who" else b""
            assert isinstance(visitor, Member)
            if src == "/holes/who":
                return visitor.key.encode()
            if src.startswith("/holes/for/"):
                named = src.removeprefix("/holes/for/")
                return f"[{named}'s]".encode() if visitor.admin or visitor.key == named else b""
            return b""

        async def visitor_of(scope: Scope) -> Visitor | None:
            who = cookie_of(scope, "who")
            if who is None:
                return None
            name = who.decode()
            return Member(name.removesuffix("!"), admin=name.endswith("!"))

        self.fill = fill
        self.holes = Holes(visitor_of=visitor_of, fill=fill, audience=audience)
        self.cache = Cache(MemoryStore(1 << 20), holes=self.holes)

        async def page(request: Request) -> str:
            return PAGE

        self.app = Starlette(
            routes=[Route("/page", cached()(page))],
            middleware=[Middleware(CacheMiddleware, cache=self.cache)],
        )


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def client(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(site.app) as client:
        yield client


def oracle(site: Site, visitor: Member) -> str:
    return join(split(PAGE.encode()), visitor, site.fill).decode()


@pytest.mark.parametrize(
    "who, visitor",
    [
        pytest.param("ada", Member("ada"), id="in-one-audience-twice"),
        pytest.param("bob", Member("bob"), id="in-another"),
        pytest.param("carol", Member("carol"), id="in-none"),
        pytest.param("root!", Member("root", admin=True), id="admin-in-all"),
    ],
)
async def test_each_person_gets_every_hole_as_filled_for_them_alone(
    site: Site, client: httpx.AsyncClient, who: str, visitor: Member
) -> None:
    await client.get("/page")  # the entry, for nobody
    for headers in (PLAIN, {"Accept-Encoding": "gzip"}):
        answer = await client.get("/page", headers={**headers, "Cookie": f"who={who}"})
        assert answer.headers["x-cache"] == "HIT"
        assert answer.text == oracle(site, visitor)


async def test_people_in_no_audience_share_one_filling_of_the_page(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.get("/page")
    site.filled.clear()
    people = ["carol", "dave", "erin", "frank"]
    answers = [
        await client.get("/page", headers={**PLAIN, "Cookie": f"who={name}"}) for name in people
    ]

    filled = site.filled.copy()  # (the oracle fills too)
    assert [a.text for a in answers] == [oracle(site, Member(name)) for name in people]
    shared = [fill for fill in filled if fill[0] != "/holes/who"]
    assert [visitor for _, visitor in shared] == ["carol"] * 4  # its 4 holes, once for all
    assert [fill for fill in filled if fill[0] == "/holes/who"] == [
        ("/holes/who", name) for name in people
    ]


async def test_a_plain_answer_is_not_kept_per_person_a_compressed_one_is(
    site: Site, client: httpx.AsyncClient
) -> None:
    await client.get("/page", headers={**PLAIN, "Cookie": "who=carol"})
    before = site.holes.assembled.bytes
    for name in ("dave", "erin"):
        await client.get("/page", headers={**PLAIN, "Cookie": f"who={name}"})
    assert site.holes.assembled.bytes == before  # one template for all three

    gzip = {"Accept-Encoding": "gzip", "Cookie": "who=dave"}
    first = await client.get("/page", headers=gzip)
    kept = site.holes.assembled.bytes
    again = await client.get("/page", headers=gzip)
    assert kept > before and site.holes.assembled.bytes == kept
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]


async def test_a_plain_answer_is_validated_per_person(client: httpx.AsyncClient) -> None:
    ada = {**PLAIN, "Cookie": "who=ada"}
    first = await client.get("/page", headers=ada)  # the MISS: rendered, then filled for Ada
    etag = first.headers["etag"]
    same = await client.get("/page", headers={**ada, "If-None-Match": etag})
    bob = await client.get("/page", headers={**PLAIN, "Cookie": "who=bob", "If-None-Match": etag})

    assert (
        first.headers["x-cache"] == "MISS" and first.headers["cache-control"] == "private, no-cache"
    )
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    assert bob.status_code == 200 and bob.headers["etag"] != etag
