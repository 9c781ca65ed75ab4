"""The near copy (``?near=1``): hot entries a process keeps, dropped by each bump it
makes or hears."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.cache.redis import NearCopy, RedisStore
from harness.servers import RedisServer
from tests.cache.helpers import Counted, listening_store, make_entry


@pytest.fixture
async def near(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    async with listening_store(redis_server.url + "?prefix=near&near=1") as store:
        yield store


async def test_a_near_copy_is_served_with_no_round_trip_until_a_bump_drops_it(
    near: RedisStore,
) -> None:
    reads = Counted(near, "get")
    assert await near.put(make_entry("k", await near.clock()))  # kept near as it is stored
    first = await near.get("k", 1.0)
    second = await near.get("k", 1.0)

    assert first is not None and second is not None and first[0] is second[0]
    assert reads.calls == 0  # no round trip: the very same entry, its answers ready
    mark = near.mark()
    await near.bump(frozenset({"t"}))
    assert await near.get("k", 1.0) is None and reads.calls == 1
    assert mark is not None and near.mark() not in (None, mark)  # answers kept at mark end


async def test_another_process_s_bump_drops_the_copy_once_heard(
    near: RedisStore, redis_server: RedisServer
) -> None:
    other = RedisStore(redis_server.url + "?prefix=near")
    heard = asyncio.Event()
    near.on_remote_invalidation(lambda tags: tags == frozenset({"t"}) and heard.set())
    try:
        assert await near.put(make_entry("k", await near.clock()))
        assert (await near.get("k", 1.0)) is not None
        mark = near.mark()
        await other.bump(frozenset({"t"}))
        await asyncio.wait_for(heard.wait(), 5)

        assert await near.get("k", 1.0) is None
        assert near.mark() != mark
    finally:
        await other.close()


async def test_a_read_that_finds_the_old_entry_while_our_bump_is_on_its_way_is_not_kept(
    near: RedisStore,
) -> None:
    assert await near.put(make_entry("k", await near.clock()))
    on_its_way, go_on = asyncio.Event(), asyncio.Event()
    original = near._scripts["bump"]

    async def held(**kw: Any) -> Any:  # the bump's round trip, held before it lands
        on_its_way.set()
        await go_on.wait()
        return await original(**kw)

    near._scripts["bump"] = held  # type: ignore[assignment]
    bump = asyncio.create_task(near.bump(frozenset({"t"})))
    await on_its_way.wait()  # the copy is dropped; Redis still holds the entry as fresh
    found = await near.get("k", 1.0)  # a read in that window: the old entry, kept near
    go_on.set()
    await bump

    assert found is not None  # concurrent with the write: the old body is allowed once
    assert near.near.get("k") is None  # but not kept past the bump
    assert await near.get("k", 1.0) is None


def test_a_read_that_straddles_a_bump_is_not_kept() -> None:
    copy = NearCopy()
    copy.live = True
    made = make_entry("k", 1)
    moves_seen = copy.moves
    copy.drop(frozenset({"other"}))  # any bump while the read was out
    copy.put(made, moves_seen)

    assert copy.get("k") is None
    copy.put(made, copy.moves)
    assert copy.get("k") is made


def test_the_near_copy_is_bounded_by_bytes_least_recent_first() -> None:
    size = make_entry("a", 1, tags=("a", "all")).size
    copy = NearCopy(max_bytes=size * 2)
    copy.live = True
    for key in ("a", "b"):
        copy.put(make_entry(key, 1, tags=(key, "all")), copy.moves)
    assert copy.get("a") is not None  # now the most recent
    copy.put(make_entry("c", 1, tags=("c", "all")), copy.moves)

    assert (copy.get("a") is not None, copy.get("b"), copy.get("c") is not None) == (
        True,
        None,
        True,
    )
    copy.put(make_entry("a", 2, tags=("a", "all")), copy.moves)  # replaced, counted once
    assert copy.bytes == size * 2
    copy.drop(frozenset({"all"}))
    assert copy.bytes == 0 and copy.get("a") is None


def test_without_near_in_the_url_nothing_is_kept() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    store.near.live = True
    store.near.put(make_entry("k", 1), store.near.moves)

    assert store.near.get("k") is None
    assert store.mark() is None  # only Redis knows: every read asks it
