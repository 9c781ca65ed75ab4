"""``CACHE_URL=off``: nothing is stored, every answer is rendered, invalidations still heard."""

from __future__ import annotations

from app.cache import (
    Cache,
    CacheStatus,
    OffStore,
    cache_tag,
    collected_tags,
    create_store,
    fragment,
    fragments,
)
from app.cache.entry import Entry
from app.cache.store import Put
from tests.cache.helpers import Renderer, Site, client_of


def test_off_names_the_store_that_keeps_nothing() -> None:
    assert isinstance(create_store("off", max_bytes=1), OffStore)


async def test_every_read_renders_and_says_miss() -> None:
    cache = Cache(OffStore())
    render = Renderer("t")

    with cache.bound():
        answers = [await cache.serve("k", render) for _ in range(3)]

    assert [(a.status, a.body) for a in answers] == [
        (CacheStatus.MISS, b"v1"),
        (CacheStatus.MISS, b"v2"),
        (CacheStatus.MISS, b"v3"),
    ]
    assert render.calls == 3
    assert answers[0].entry is not None and answers[0].entry.tags == {"t"}


async def test_a_page_and_its_fragments_collect_their_tags_as_with_a_store() -> None:
    """A live fragment names its tags in its body: the oracle must name the same ones."""
    cache = Cache(OffStore())
    rendered: list[str] = []

    def row(name: str) -> tuple[object, object]:
        def render() -> str:
            rendered.append(name)
            cache_tag(f"row:{name}")
            return f"<li>{name}</li>"

        return name, render

    async def legend() -> str:
        cache_tag("legend")
        return "<p>legend</p>"

    async def page() -> str:
        cache_tag("list")
        rows = await fragments("row", [row("a"), row("b")])  # type: ignore[list-item]
        return "".join(rows) + await fragment("legend", legend) + " ".join(collected_tags())

    with cache.bound():
        first = await cache.serve("page", page)
        second = await cache.serve("page", page)

    assert first.body == second.body == b"<li>a</li><li>b</li><p>legend</p>list"
    assert first.entry is not None
    assert first.entry.tags == {"list", "row:a", "row:b", "legend"}  # handed up, as stored ones are
    assert rendered == ["a", "b", "a", "b"]  # no row was kept either
    assert (first.status, second.status) == (CacheStatus.MISS, CacheStatus.MISS)


async def test_invalidations_still_reach_the_listeners() -> None:
    """Open pages refresh from the event stream, which listens to the cache."""
    cache = Cache(OffStore())
    heard: list[frozenset[str]] = []
    cache.on_invalidate(heard.append)

    async with cache.after_commit():
        await cache.revalidate_tag("tickets")
    await cache.revalidate_tag("other", soft=True)

    assert heard == [frozenset({"tickets"}), frozenset({"other"})]
    assert await cache.store.clock() == 2  # the clock moves with each bump, as any store's


async def test_over_http_no_answer_is_kept_or_given_again() -> None:
    site = Site(OffStore(), repeats=True)
    async with client_of(site.app) as client:
        answers = [await client.get("/static-page") for _ in range(3)]
        written = await client.post("/write")  # a soft bump: the visitor's read-after clock
        after = await client.get("/static-page")

    assert [a.headers["x-cache"] for a in answers] == ["MISS"] * 3
    assert [a.text.split()[1] for a in answers] == ["1", "2", "3"]
    assert site.renders == 4 and after.headers["x-cache"] == "MISS"
    assert written.status_code == 200 and "read-after" in written.headers["set-cookie"]
    assert site.repeats is not None and not site.repeats.kept


async def test_it_holds_nothing_to_count_inspect_lease_or_close() -> None:
    store = OffStore()
    entry = Entry(key="k", body=b"x", tags=frozenset({"t"}), snapshot=0, created_at=0.0)
    await store.start()
    store.on_remote_invalidation(lambda tags: None)

    assert await store.put_many([entry, entry]) == [Put.UNKEPT, Put.UNKEPT]
    assert await store.get_many(["k", "j"], 0.0) == [None, None]
    assert store.mark() is None
    assert store.stats()[:2] == (0, 0) and store.stamp_count() == 0
    assert await store.stamps(frozenset({"t"})) == {"t": (0, 0)}
    token = await store.acquire("k")
    assert token is not None and not await store.leased("k")
    await store.release("k", token)
    await store.close()
