"""aiosqlite with reads on the loop's thread and a write in one trip (app/sqlite_driver.py),
one row's writes here too (a first one only while the write lock is free): the
same answers, fewer trips."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import exc, text

from app.db import BUSY_TIMEOUT_MS, Database
from app.sqlite_driver import OneTripConnection, first_write_here, inserts_here, reads_here


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    made = Database(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with made.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield made
    await made.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each function aiosqlite runs on its thread from now on."""
    made: list[str] = []
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_the_engine_s_connections_are_one_trip_connections(db: Database) -> None:
    async with db.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection

    assert isinstance(raw, OneTripConnection)


async def test_a_read_makes_no_trip_and_its_end_none(db: Database, trips: list[str]) -> None:
    async with db.engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
        await connection.commit()
    trips.clear()
    async with db.session() as session:
        rows = (await session.exec(text("SELECT id, name FROM t ORDER BY id"))).all()  # type: ignore[call-overload]

    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]
    assert trips == []  # run on the loop's thread; nothing to roll back


async def test_a_read_inside_a_write_is_a_trip_and_sees_the_write(
    db: Database, trips: list[str]
) -> None:
    async with db.engine.begin() as connection:
        before = (await connection.execute(text("SELECT count(*) FROM t"))).scalar()
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        after = (await connection.execute(text("SELECT count(*) FROM t"))).scalar()

    assert (before, after) == (0, 1)
    # The first read, before any write, ran here, and so did the one row's
    # write (the lock was free); the read after it on the thread.
    assert trips == ["_run", "commit"]


async def test_a_full_text_search_is_a_trip(db: Database, trips: list[str]) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE VIRTUAL TABLE words USING fts5(body)"))
        await connection.execute(text("INSERT INTO words (body) VALUES ('cafe creme')"))
    trips.clear()
    async with db.engine.connect() as connection:
        search = text("SELECT body FROM words WHERE words MATCH :m")
        found = (await connection.execute(search, {"m": "caf*"})).all()

    assert [row[0] for row in found] == ["cafe creme"]
    assert trips == ["_run"]  # it may take milliseconds: never on the loop's thread


@pytest.mark.parametrize(
    ("sql", "here"),
    [
        pytest.param("SELECT 1", True, id="select"),
        pytest.param("  select id FROM t", True, id="lowercase-indented"),
        pytest.param("SELECT rowid FROM words WHERE words MATCH ?", False, id="search"),
        pytest.param("INSERT INTO t (name) VALUES ('a')", False, id="insert"),
        pytest.param("WITH x AS (SELECT 1) DELETE FROM t", False, id="with"),
        pytest.param("PRAGMA journal_mode", False, id="pragma"),
    ],
)
def test_which_statements_read_on_the_loop_s_thread(sql: str, here: bool) -> None:
    assert reads_here(sql) is here


async def test_a_write_says_what_it_wrote_and_commits_in_one_trip_more(
    db: Database, trips: list[str]
) -> None:
    async with db.engine.begin() as connection:
        many = await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "a"}, {"name": "b"}]
        )
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('c')"))
        updated = await connection.execute(text("UPDATE t SET name = name || '!'"))

    assert inserted.lastrowid == 3
    assert (many.rowcount, updated.rowcount) == (2, 3)
    assert trips == ["_run", "_run", "commit"]  # many rows, every row; the one row here


async def test_one_row_inserted_after_a_write_is_no_trip_and_commits_with_it(
    db: Database, trips: list[str]
) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE t SET name = 'x'"))  # takes the lock (a trip)
        second = await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": "a"})
        third = await connection.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": "b"})
        seen = (await connection.execute(text("SELECT count(*) FROM t"))).scalar()

    assert (second.lastrowid, third.lastrowid, seen) == (1, 2, 2)
    assert trips == ["_run", "_run", "commit"]  # the first write, the read, COMMIT
    async with db.engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars()
        assert list(names) == ["a", "b"]


async def test_one_row_inserted_after_a_write_is_rolled_back_with_it(db: Database) -> None:
    with pytest.raises(exc.IntegrityError):
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('b')"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))  # here: raises
    async with db.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0


@pytest.mark.parametrize(
    ("sql", "here"),
    [
        pytest.param("INSERT INTO t (name) VALUES (?)", True, id="one-row"),
        pytest.param("  insert into t (name) values ('a')", True, id="lowercase-indented"),
        pytest.param("INSERT INTO t (name) VALUES (?), (?)", False, id="many-rows"),
        pytest.param("INSERT INTO t (name) VALUES (?),(?)", False, id="many-rows-tight"),
        pytest.param("INSERT INTO t (name) SELECT name FROM u", False, id="insert-select"),
        pytest.param("UPDATE t SET name = ?", False, id="update"),
        pytest.param("DELETE FROM t", False, id="delete"),
        pytest.param("SELECT 1", False, id="select"),
    ],
)
def test_which_statements_of_a_write_run_on_the_loop_s_thread(sql: str, here: bool) -> None:
    assert inserts_here(sql) is here


async def test_errors_are_sqlite_s_own(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
    with pytest.raises(exc.IntegrityError):
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
    with pytest.raises(exc.OperationalError):
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT nothing FROM nowhere"))


async def test_rows_streamed_in_parts_all_arrive(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": str(n)} for n in range(25)]
        )
    async with db.engine.connect() as connection:
        streamed = await connection.stream(text("SELECT name FROM t ORDER BY id"))
        parts = [[row[0] for row in part] async for part in streamed.partitions(10)]
        first = await (await connection.stream(text("SELECT name FROM t ORDER BY id"))).first()

    assert [len(part) for part in parts] == [10, 10, 5]
    assert [name for part in parts for name in part] == [str(n) for n in range(25)]
    assert first is not None and first[0] == "0"


@pytest.mark.parametrize(
    ("sql", "here"),
    [
        pytest.param("INSERT INTO t (name) VALUES (?)", True, id="one-row-insert"),
        pytest.param("UPDATE t SET name=?, n=? WHERE t.id = ?", True, id="one-row-by-id"),
        pytest.param("  update t set name=? where t.id = ?", True, id="lowercase-indented"),
        pytest.param("INSERT INTO t (name) VALUES (?), (?)", False, id="many-rows"),
        pytest.param("UPDATE t SET name=? WHERE t.name = ?", False, id="by-another-column"),
        pytest.param("UPDATE t SET name=? WHERE t.id = ? AND t.n = ?", False, id="and"),
        pytest.param("UPDATE t SET name=? WHERE t.id IN (?, ?)", False, id="in"),
        pytest.param("UPDATE t SET name=? WHERE t.id = ? RETURNING t.id", False, id="returning"),
        pytest.param("UPDATE t SET name=? WHERE u.id = ?", False, id="another-table-s-id"),
        pytest.param("UPDATE t SET name = ?", False, id="every-row"),
        pytest.param("DELETE FROM t WHERE t.id = ?", False, id="delete"),
    ],
)
def test_which_first_writes_are_tried_on_the_loop_s_thread(sql: str, here: bool) -> None:
    assert first_write_here(sql) is here


async def _busy_timeout(db: Database) -> int:
    async with db.engine.connect() as connection:
        waits: int = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        return waits


async def test_a_first_write_of_one_row_is_no_trip(db: Database, trips: list[str]) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
    async with db.engine.begin() as connection:
        updated = await connection.execute(
            text("UPDATE t SET name = 'b' WHERE t.id = :id"), {"id": 1}
        )

    assert updated.rowcount == 1
    assert trips == ["commit", "commit"]
    assert await _busy_timeout(db) == BUSY_TIMEOUT_MS  # as it was before the try


async def test_a_first_write_waits_in_a_trip_while_another_holds_the_lock(
    db: Database, trips: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection holds the write lock: the write tried here finds it
    taken, leaves no transaction behind, and waits for it on the thread."""
    holder = sqlite3.connect(tmp_path / "trips.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (name) VALUES ('theirs')")
    waiting = asyncio.Event()
    execute = aiosqlite.Connection._execute

    async def signalled(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        waiting.set()  # the trip is made: the write waits for the lock there
        return await execute(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", signalled)

    async def ours() -> int:
        async with db.engine.begin() as connection:
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('ours')"))
            assert inserted.lastrowid is not None
            return inserted.lastrowid

    started = time.monotonic()
    write = asyncio.create_task(ours())
    await waiting.wait()
    # The try here did not wait out busy_timeout on the loop's thread, which
    # would have held up everything else (this test's holder too) meanwhile.
    assert time.monotonic() - started < BUSY_TIMEOUT_MS / 1000 / 2
    assert not write.done()
    holder.execute("COMMIT")
    holder.close()

    assert await write == 2  # after theirs: it waited, then wrote
    async with db.engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars()
        assert list(names) == ["theirs", "ours"]
    assert await _busy_timeout(db) == BUSY_TIMEOUT_MS


async def test_a_first_write_s_other_errors_are_raised_as_they_are(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
    with pytest.raises(exc.IntegrityError):
        async with db.engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))  # here: raises

    assert await _busy_timeout(db) == BUSY_TIMEOUT_MS
    async with db.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1
