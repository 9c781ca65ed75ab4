"""The database: schema on start, WAL mode, transactions."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlmodel import select
from starlette.applications import Starlette

from app.db import Database
from app.models import Ticket
from app.seed import DEMO_TICKETS, seed_demo
from tests.helpers import sqlite_only, ticket_count


@sqlite_only
async def test_sqlite_runs_in_wal_mode(app: Starlette) -> None:
    async with app.state.db.session() as session:
        mode = (await session.exec(text("PRAGMA journal_mode"))).one()  # type: ignore[call-overload]
    assert mode[0] == "wal"


@sqlite_only
async def test_a_connection_is_rolled_back_only_if_it_is_mid_transaction(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Database = app.state.db
    rollbacks: list[bool] = []  # whether each rollback reaching SQLite had a transaction to end
    rollback = aiosqlite.Connection.rollback

    async def counted(self: aiosqlite.Connection) -> None:
        rollbacks.append(self.in_transaction)
        await rollback(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counted)
    async with db.session() as session:  # a read: nothing open to roll back, no trip
        await session.exec(select(Ticket))
    async with db.transaction() as session:  # a write: COMMIT ended it
        session.add(Ticket(title="kept", content="committed"))
    assert rollbacks == []  # (app/sqlite_driver.py, and _rollback_if_open for the pool)

    async with db.engine.connect() as connection:  # left mid-transaction behind its back
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("BEGIN")
        await raw.execute("INSERT INTO ticket_count (status, n) VALUES ('GHOST', 1)")
    assert rollbacks == [True]  # the pool ended it
    async with db.session() as session:
        found = await session.exec(text("SELECT count(*) FROM ticket_count WHERE status = 'GHOST'"))  # type: ignore[call-overload]
        assert found.one()[0] == 0
    assert await ticket_count(app) == 1


async def test_a_failed_transaction_writes_nothing(app: Starlette) -> None:
    with pytest.raises(RuntimeError):
        async with app.state.db.transaction() as session:
            session.add(Ticket(title="half", content="written"))
            await session.flush()
            raise RuntimeError("abort")
    assert await ticket_count(app) == 0


async def test_seed_fills_an_empty_database_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'seed.db'}"

    first, second = await seed_demo(url), await seed_demo(url)

    db = Database(url)
    try:
        async with db.session() as session:
            titles = {t.title for t in await session.exec(select(Ticket))}
    finally:
        await db.close()
    assert (first, second) == (len(DEMO_TICKETS), 0)
    assert titles == {title for title, _, _ in DEMO_TICKETS}
