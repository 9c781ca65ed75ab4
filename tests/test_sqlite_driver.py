"""aiosqlite in one trip per statement (app/sqlite_driver.py): the same answers, fewer trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import exc, text

from app.db import Database
from app.sqlite_driver import OneTripConnection


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


async def test_a_read_is_one_trip_and_its_end_none(db: Database, trips: list[str]) -> None:
    async with db.engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
        await connection.commit()
    trips.clear()
    async with db.session() as session:
        rows = (await session.exec(text("SELECT id, name FROM t ORDER BY id"))).all()  # type: ignore[call-overload]

    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]
    assert trips == ["_run"]  # no cursor to open or close apart, nothing to roll back


async def test_a_write_says_what_it_wrote_and_commits_in_one_trip_more(
    db: Database, trips: list[str]
) -> None:
    async with db.engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        many = await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        updated = await connection.execute(text("UPDATE t SET name = name || '!'"))

    assert inserted.lastrowid == 1
    assert (many.rowcount, updated.rowcount) == (2, 3)
    assert trips == ["_run", "_run", "_run", "commit"]


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
