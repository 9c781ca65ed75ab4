"""The invalidation outbox: a write's invalidations commit with it, and a row
its writer could not apply is applied by another process's sweeper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, func, update
from sqlmodel import select
from starlette.applications import Starlette

from app.cache import Cache, CacheStatus, Commit, Edge, MemoryStore, cache_tag
from app.cache.errors import StoreUnavailable
from app.db import Database
from app.models import InvalidationOutbox, utcnow
from app.outbox import GRACE, Outbox
from harness.processes import free_port
from tests.helpers import add_ticket


async def rows(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(InvalidationOutbox))).one()


async def age_rows(db: Database) -> None:
    """Make every row older than the grace a writer has (instead of waiting it out)."""
    async with db.transaction() as session:
        past = utcnow() - GRACE - timedelta(seconds=1)
        await session.exec(update(InvalidationOutbox).values(created_at=past))  # type: ignore[call-overload]


async def test_a_write_applied_by_its_writer_leaves_no_row(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    await client.post(f"/tickets/{ticket.id}/update", data={"status": "DONE"})
    await client.post("/tickets", data={"title": "", "content": ""})  # 422: rolled back
    await client.post("/tickets/00000000-0000-4000-8000-000000000000/delete")  # 404
    await app.state.outbox.idle()

    assert await rows(app.state.db) == 0


async def test_rows_settled_together_are_deleted_in_one_statement_after_the_answers(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    _, db, mine, _ = two_processes
    async with db.transaction() as session:  # three writes' rows (this one settles none)
        made = [await mine.record(session, Commit(queued=[("t", False)])) for _ in range(3)]
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )

    for row in made:  # three writes answered, one after the other, within DELETE_AFTER
        assert row is not None
        mine.settled(row, Commit(queued=[("t", False)], applied=True))
    assert statements == []  # nothing on the answers' path
    await mine.idle()

    assert [s.split()[0] for s in statements] == ["DELETE"]
    assert await rows(db) == 0


class FlakyStore(MemoryStore):
    """One store shared by two 'processes'; it refuses bumps while ``down``."""

    down = False
    shared = True  # what it keeps outlives each of them, as Redis does

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        if self.down:
            raise StoreUnavailable("cut off")
        await super().bump(tags, soft=soft)


@pytest.fixture
async def two_processes(
    tmp_path: Path,
) -> AsyncIterator[tuple[FlakyStore, Database, Outbox, Outbox]]:
    store = FlakyStore(1 << 20)
    writer, reader = Cache(store), Cache(store)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}", after_commit=writer.after_commit)
    db.outbox = Outbox(writer, db)
    await db.create_schema()
    yield store, db, db.outbox, Outbox(reader, db)
    await db.close()


@pytest.mark.parametrize(
    ("edges", "kept"),
    [
        pytest.param(0, False, id="in-process-store"),
        pytest.param(1, True, id="in-process-store-behind-an-edge"),
    ],
)
async def test_a_row_is_written_only_when_what_the_cache_keeps_outlives_its_process(
    tmp_path: Path, edges: int, kept: bool
) -> None:
    """An in-process store dies with its process, and every answer it could have
    left stale with it: no row. An edge outlives it: its purge is kept in a row
    (left there, here, since no edge answers)."""
    edge = Edge(f"http://127.0.0.1:{free_port()}", patience=0.0)
    cache = Cache(MemoryStore(1 << 20), edges=[edge] * edges)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}", after_commit=cache.after_commit)
    db.outbox = outbox = Outbox(cache, db)
    await db.create_schema()
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )
    try:
        async with db.transaction():
            await cache.revalidate_tag("t")
        await outbox.idle()
        inserted = [s for s in statements if s.startswith("INSERT INTO invalidation_outbox")]

        assert cache.outlives_process is kept
        assert (len(inserted), await rows(db)) == ((1, 1) if kept else (0, 0))
        if not kept:  # the sweeper looks once for rows an earlier run left, then stops
            await asyncio.wait_for(outbox.run(), timeout=10)
    finally:
        await cache.close()
        await db.close()


async def test_a_delete_cut_short_does_not_stop_the_next_ones(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    _, db, mine, _ = two_processes
    async with db.transaction() as session:
        made = [await mine.record(session, Commit(queued=[("t", False)])) for _ in range(2)]
    first, second = made
    assert first is not None and second is not None
    applied = Commit(queued=[("t", False)], applied=True)
    mine.settled(first, applied)
    for waiting in list(mine._forgetting):  # cancelled while it waits (a shutdown)
        waiting.cancel()
    await mine.idle()
    mine.settled(second, applied)
    await mine.idle()

    assert await rows(db) == 0  # the next delete took both


async def test_a_row_its_writer_could_not_apply_is_applied_by_another_process(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    store, db, mine, theirs = two_processes
    page = Cache(store)

    async def render() -> str:
        cache_tag("t")
        return "old"

    await page.serve("page", render)
    store.down = True  # the writer is cut off from the store
    async with db.transaction():
        await mine.cache.revalidate_tag("t")
    await mine.idle()
    assert await rows(db) == 1  # committed with the write, not applied
    store.down = False  # the writer stays cut off (it owes the bump); the reader is not

    assert await theirs.sweep() == 0  # still the writer's to apply, for GRACE
    await age_rows(db)
    assert await theirs.sweep() == 1

    assert await rows(db) == 0
    assert (await page.serve("page", render)).status is CacheStatus.MISS


async def test_a_sweeper_that_cannot_reach_the_store_leaves_the_rows(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    store, db, mine, theirs = two_processes
    store.down = True
    async with db.transaction():
        await mine.cache.revalidate_tag("t")
    await age_rows(db)

    with pytest.raises(StoreUnavailable):
        await theirs.sweep()

    assert await rows(db) == 1


async def test_a_rolled_back_write_leaves_no_row(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    _, db, mine, _ = two_processes

    with pytest.raises(LookupError):
        async with db.transaction():
            await mine.cache.revalidate_tag("t")
            raise LookupError("rollback")

    assert await rows(db) == 0


async def test_a_process_does_not_sweep_again_the_rows_it_is_settling(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    """Its delete can come later than GRACE on a loaded machine: applying the
    row again would move its tags twice (a spare render, a put refused)."""
    _, db, mine, theirs = two_processes
    async with db.transaction() as session:
        row = await mine.record(session, Commit(queued=[("t", False)]))
    assert row is not None
    mine.settled(row, Commit(queued=[("t", False)], applied=True))
    for waiting in list(mine._forgetting):  # its delete held back past GRACE
        waiting.cancel()
    await mine.idle()
    await age_rows(db)

    assert await mine.sweep() == 0  # its own, already applied
    assert await theirs.sweep() == 1  # another process cannot know: a spare bump


async def test_a_process_sweeps_the_rows_it_could_not_apply(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    store, db, mine, _ = two_processes
    store.down = True
    async with db.transaction():
        await mine.cache.revalidate_tag("t")
    store.down = False
    await age_rows(db)

    assert await mine.sweep() == 1
    assert await rows(db) == 0


async def test_a_write_whose_commit_fails_leaves_nothing_owed(
    two_processes: tuple[FlakyStore, Database, Outbox, Outbox],
) -> None:
    """Its row was written (and given an id) before COMMIT failed: the id is
    not this process's to keep out of its sweeps (another write may get it)."""
    _, db, mine, _ = two_processes

    def refuse(_connection: object) -> None:
        raise RuntimeError("COMMIT fails")

    event.listen(db.engine.sync_engine, "commit", refuse)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await mine.cache.revalidate_tag("t")
    event.remove(db.engine.sync_engine, "commit", refuse)

    assert mine._mine == set()
    assert await rows(db) == 0
