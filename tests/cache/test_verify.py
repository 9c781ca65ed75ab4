"""Sampled verification: a HIT rendered again in the background, and a divergence
told from a body that changed because its data moved."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from app.cache import (
    Cache,
    CacheMiddleware,
    MemoryStore,
    cache_tag,
    cached,
    client_error,
    fragment,
    fragments,
)
from app.cache.helpers import fragment_key
from app.cache.verify import Verifier, excerpts
from harness.metrics import metrics
from tests.cache.helpers import client_of

ITEM_ROUTE = "/items/{item_id}"


class Coin:
    """The verifier's draw: sampled (heads) or not, as the test says."""

    def __init__(self) -> None:
        self.heads = True

    def __call__(self) -> float:
        return 0.0 if self.heads else 0.999


class Shop:
    """A site over a dict its tests write behind the cache's back: an item's
    page, and a list whose rows are fragments. Every read tags itself."""

    def __init__(self, *, verify_rate: float = 0.5) -> None:
        self.items = {"1": "apple", "2": "pear"}
        self.coin = Coin()
        self.cache = Cache(
            MemoryStore(1 << 20), declined=client_error, verify_rate=verify_rate, draw=self.coin
        )
        if self.cache.verifier is not None:
            self.cache.verifier.grace = 0  # no bump is in transit here unless a test sends one
        self.renders = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.during_render: Callable[[], None] | None = None
        self.broken = False  # the next render raises
        self.row_dynamic = False  # a row becomes a dynamic part

        async def item(request: Request) -> str:
            self.renders += 1
            self.started.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.during_render is not None:
                self.during_render()
            if self.broken:
                raise RuntimeError("the render broke")
            item_id = request.path_params["item_id"]
            cache_tag(f"item:{item_id}")
            if item_id not in self.items:
                raise HTTPException(404, "no such item")
            return f"<h1>{self.items[item_id]}</h1>"

        async def listing(request: Request) -> str:
            self.renders += 1
            cache_tag("items")
            rows = [
                await fragment("row", _row_of(item_id), item_id, dynamic=self.row_dynamic)
                for item_id in sorted(self.items)
            ]
            return "<ul>" + "".join(rows) + "</ul>"

        async def rows(request: Request) -> str:
            """The rows read in one round trip, rendered from data in hand."""
            cache_tag("items")
            parts = [(item_id, _row_in_hand(item_id)) for item_id in sorted(self.items)]
            return "<ol>" + "".join(await fragments("row", parts)) + "</ol>"

        def _row_in_hand(item_id: str) -> Callable[[], str]:
            def row() -> str:
                cache_tag(f"item:{item_id}")
                return f"<li>{self.items[item_id]}</li>"

            return row

        def _row_of(item_id: str) -> Callable[[], Awaitable[str]]:
            async def row() -> str:
                cache_tag(f"item:{item_id}")
                return f"<li>{self.items[item_id]}</li>"

            return row

        self.app = Starlette(
            routes=[
                Route(ITEM_ROUTE, cached()(item)),
                Route("/items", cached()(listing)),
                Route("/rows", cached()(rows)),
                Route("/timed/{item_id}", cached(revalidate=60)(item)),
            ],
            middleware=[Middleware(CacheMiddleware, cache=self.cache)],
        )

    @property
    def verifier(self) -> Verifier:
        assert self.cache.verifier is not None
        return self.cache.verifier

    def counted(self) -> dict[str, float]:
        return metrics(self.cache.metrics.render().decode())

    def outcomes(self) -> dict[str, float]:
        prefix = 'cache_verifications_total{outcome="'
        return {
            name[len(prefix) : -2]: value
            for name, value in self.counted().items()
            if name.startswith(prefix)
        }


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(shop.app) as client:
        yield client


async def test_a_body_that_changed_while_no_tag_moved_is_a_divergence(
    shop: Shop, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/items/1")
    shop.items["1"] = "plum"  # behind the cache's back: nothing is bumped

    with caplog.at_level(logging.WARNING, logger="app.cache.verify"):
        hit = await client.get("/items/1")
        await shop.cache.settle()
    shop.coin.heads = False
    again = await client.get("/items/1")

    assert hit.headers["x-cache"] == "HIT" and hit.text == "<h1>apple</h1>"
    assert shop.counted()[f'cache_divergence_total{{route="{ITEM_ROUTE}"}}'] == 1
    assert shop.outcomes() == {"diverged": 1}
    [found] = shop.verifier.divergences()
    assert (found.url, found.route, found.key) == ("/items/1", ITEM_ROUTE, "/items/1? page")
    assert "item:1" in found.entry_tags and "item:1" in found.fresh_tags
    assert found.unrecorded == ()
    assert "apple" in found.cached and "plum" in found.fresh
    assert "/items/1" in caplog.text and "item:1" in caplog.text
    # Never stored: the entry is the one the cache held.
    assert again.headers["x-cache"] == "HIT" and again.text == "<h1>apple</h1>"


async def test_an_unchanged_body_is_no_divergence_and_a_miss_is_not_verified(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/1")  # sampled, but a MISS: nothing to compare
    renders_after_miss = shop.renders
    await client.get("/items/1")
    await shop.cache.settle()

    assert renders_after_miss == 1 and shop.renders == 2
    assert shop.outcomes() == {"same": 1}
    assert shop.verifier.divergences() == []


async def test_a_tag_moved_while_rendering_again_is_no_divergence(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/1")
    shop.gate, shop.started = asyncio.Event(), asyncio.Event()

    await client.get("/items/1")  # answered; its verification waits at the gate
    await shop.started.wait()
    shop.items["1"] = "plum"  # a real write: data, then its bump
    await shop.cache.revalidate_tag("item:1")
    shop.gate.set()
    await shop.cache.settle()

    assert shop.outcomes() == {"moved": 1}
    assert shop.verifier.divergences() == []


async def test_a_bump_that_lands_in_the_grace_is_no_divergence(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    """A write committed before the fresh render read, whose bump follows its COMMIT."""
    await client.get("/items/1")
    shop.verifier.grace = 0.001
    bumps: list[asyncio.Task[None]] = []

    def committed_not_yet_bumped() -> None:
        shop.items["1"] = "plum"
        bumps.append(asyncio.create_task(shop.cache.store.bump(frozenset({"item:1"}))))

    shop.during_render = committed_not_yet_bumped
    await client.get("/items/1")
    await shop.cache.settle()

    assert bumps[0].done()
    assert shop.outcomes() == {"moved": 1}


async def test_a_bump_this_process_owes_is_no_divergence(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/1")
    shop.items["1"] = "plum"
    shop.verifier.owes = lambda: True  # its bump could not reach the store yet

    await client.get("/items/1")
    await shop.cache.settle()

    assert shop.outcomes() == {"moved": 1}


async def test_the_fragments_inside_are_rendered_again_not_read(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items")
    shop.items["2"] = "quince"
    shop.items["3"] = "fig"

    await client.get("/items")
    await shop.cache.settle()

    [found] = shop.verifier.divergences()
    assert "pear" in found.cached and "quince" in found.fresh
    assert found.unrecorded == ("item:3",)  # what the entry could not know it depends on
    stored = await shop.cache.store.get(fragment_key("row", ("2",)), 0.0)
    assert stored is not None and stored[0].body == b"<li>pear</li>"  # nothing kept
    assert await shop.cache.store.get(fragment_key("row", ("3",)), 0.0) is None


async def test_the_rows_read_in_one_round_trip_are_rendered_again_not_read(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/rows")
    shop.items["2"] = "quince"

    await client.get("/rows")
    await shop.cache.settle()

    [found] = shop.verifier.divergences()
    assert "pear" in found.cached and "quince" in found.fresh
    assert {"item:1", "item:2"} <= set(found.fresh_tags)
    stored = await shop.cache.store.get(fragment_key("row", ("2",)), 0.0)
    assert stored is not None and stored[0].body == b"<li>pear</li>"


async def test_a_render_that_declines_now_is_a_divergence(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/2")
    del shop.items["2"]

    await client.get("/items/2")
    await shop.cache.settle()

    [found] = shop.verifier.divergences()
    assert found.fresh.startswith("declined: HTTPException") and "pear" in found.cached


async def test_a_render_that_fails_is_counted_and_logged(
    shop: Shop, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/items/1")
    shop.broken = True

    with caplog.at_level(logging.WARNING, logger="app.cache.verify"):
        await client.get("/items/1")
        await shop.cache.settle()

    assert shop.outcomes() == {"failed": 1}
    assert "could not verify /items/1" in caplog.text and "the render broke" in caplog.text


async def test_a_timed_entry_is_not_rendered_again(shop: Shop, client: httpx.AsyncClient) -> None:
    await client.get("/timed/1")
    shop.items["1"] = "plum"  # a timed entry may lag its data for its lifetime

    hit = await client.get("/timed/1")
    await shop.cache.settle()

    assert hit.headers["x-cache"] == "HIT"
    assert shop.renders == 1 and shop.outcomes() == {"skipped": 1}


async def test_a_fresh_render_with_a_dynamic_part_is_not_compared(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items")
    shop.row_dynamic = True  # what is dynamic differs from render to render
    shop.items["1"] = "plum"

    await client.get("/items")
    await shop.cache.settle()

    assert shop.outcomes() == {"skipped": 1}


async def test_off_nothing_is_rendered_again() -> None:
    shop = Shop(verify_rate=0)
    async with client_of(shop.app) as client:
        await client.get("/items/1")
        shop.items["1"] = "plum"
        hit = await client.get("/items/1")
        await shop.cache.settle()

    assert shop.cache.verifier is None
    assert hit.headers["x-cache"] == "HIT" and shop.renders == 1
    assert shop.outcomes() == {}


async def test_a_get_not_sampled_is_answered_before_routing_and_not_rendered_again(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/1")
    shop.items["1"] = "plum"
    shop.coin.heads = False

    hit = await client.get("/items/1")
    await shop.cache.settle()

    assert hit.headers["x-cache"] == "HIT" and shop.renders == 1
    assert shop.outcomes() == {}


async def test_at_most_max_running_verifications_at_once(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    pages = ["/items/1", "/items/2", "/items/1", "/items/2", "/items/1"]
    for page in pages[:2]:
        await client.get(page)
    shop.verifier.max_running = 2
    shop.gate = asyncio.Event()

    answers = [await client.get(page) for page in pages]
    running = len(shop.verifier.running)
    shop.gate.set()
    await shop.cache.settle()

    assert all(answer.headers["x-cache"] == "HIT" for answer in answers)
    assert running == 2
    assert shop.outcomes() == {"dropped": 3, "same": 2}
    assert shop.renders == 2 + 2


async def test_verifications_of_one_key_at_once_share_one_render(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/1")
    shop.gate = asyncio.Event()

    for _ in range(2):
        await client.get("/items/1")
    shop.gate.set()
    await shop.cache.settle()

    assert shop.outcomes() == {"same": 2} and shop.renders == 1 + 1


async def test_closing_the_cache_cancels_its_verifications(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await client.get("/items/1")
    shop.gate, shop.started = asyncio.Event(), asyncio.Event()
    await client.get("/items/1")
    await shop.started.wait()

    await shop.cache.close()

    assert shop.verifier.running == set() and shop.outcomes() == {}


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_the_rate_is_a_share(rate: float) -> None:
    with pytest.raises(ValueError, match="the verify rate must be above 0 and at most 1"):
        Cache(MemoryStore(1 << 20), verify_rate=rate)


@pytest.mark.parametrize(
    ("cached", "fresh", "expected"),
    [
        pytest.param(b"<p>apple</p>", b"<p>plum</p>", ("<p>apple</p>", "<p>plum</p>"), id="short"),
        pytest.param(b"<p>ab", b"<p>abc", ("<p>ab", "<p>abc"), id="one-a-prefix"),
        pytest.param(b"x" * 100 + b"a", b"x" * 100 + b"b", ("x" * 40 + "a", "x" * 40 + "b"),
                     id="from-before-the-difference"),
    ],
)  # fmt: skip
def test_excerpts_start_a_little_before_the_first_difference(
    cached: bytes, fresh: bytes, expected: tuple[str, str]
) -> None:
    assert excerpts(cached, fresh) == expected
