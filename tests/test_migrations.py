"""Migrations: the schema comes from app/migrations, runs on start, matches the models."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import col, select

from app import db as db_module
from app import search
from app.db import Database
from app.migrations import alembic_config
from app.models import Ticket
from app.tickets import numbers
from tests.helpers import HEAD, downgrade_to_base, revision, schema_diff, start_apps_at_once

OLD_SCHEMA = """
CREATE TABLE ticket (
    id VARCHAR(36) NOT NULL, title VARCHAR(191) NOT NULL, content VARCHAR(1024) NOT NULL,
    status VARCHAR(11) NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_ticket_created_at ON ticket (created_at)
"""


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_a_fresh_database_migrates_to_head_and_twice_is_harmless(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "fresh.db"))
    try:
        await db.create_schema()
        await db.create_schema()
        async with db.engine.connect() as connection:
            versions = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await db.close()
    assert HEAD is not None
    assert versions == [(HEAD,)]
    parts = ("", "_data", "_idx", "_content", "_docsize", "_config")
    search_tables = {f"ticket_search{part}" for part in parts}
    assert tables == {
        "alembic_version",
        "ticket",
        "ticket_count",
        "ticket_number",
        "deleted_ticket",
        "deleted_comment",
        "invalidation_outbox",
        "app_user",
        "user_session",
        "login_failure",
        "first_account",
        "comment",
        "ticket_change",
        *search_tables,
    }


async def test_the_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    # A model changed without a migration fails here: write the migration
    # (python -m app.migrations revision --autogenerate -m "...").
    db = Database(sqlite_url(tmp_path / "diff.db"))
    try:
        await db.create_schema()
        assert await schema_diff(db) == []
    finally:
        await db.close()


async def test_the_diff_sees_a_schema_that_lacks_a_column(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "lacking.db"))
    try:
        await db.create_schema()
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("ALTER TABLE ticket DROP COLUMN author_id")
        diff = await schema_diff(db)
    finally:
        await db.close()
    assert [(op[0], op[2], op[3].name) for op in diff] == [("add_column", "ticket", "author_id")]


async def test_a_database_made_before_migrations_is_adopted_with_its_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.executescript(OLD_SCHEMA)  # what SQLModel.metadata.create_all made before migrations
        raw.execute(
            "INSERT INTO ticket VALUES ('t1', 'Kept', 'Still here', 'OPEN',"
            " '2024-01-01 00:00:00.000000', '2024-01-01 00:00:00.000000')"
        )
        raw.execute(  # older, though inserted later: numbered first (0010)
            "INSERT INTO ticket VALUES ('t0', 'Older', 'Made first', 'DONE',"
            " '2023-01-01 00:00:00.000000', '2023-01-01 00:00:00.000000')"
        )
    raw.close()

    db = Database(sqlite_url(path))
    try:
        await db.create_schema()
        async with db.session() as session:
            tickets = list(await session.exec(select(Ticket).order_by(col(Ticket.number))))
            async with db.transaction() as writing:
                given = await numbers.take(writing)
        assert await revision(db) == HEAD
    finally:
        await db.close()
    assert [(t.title, t.search_text, t.number) for t in tickets] == [
        ("Older", "older made first", 1),
        ("Kept", "kept still here", 2),
    ]
    assert list(given) == [3]  # a new ticket's number follows


async def test_the_search_index_is_keyed_again_by_0009_and_stays_in_step(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "rekeyed.db"))
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(lambda c: command.upgrade(alembic_config(c), "0008"))
            for n, (ticket_id, title) in enumerate(
                (("t1", "Kept printer"), ("t2", "Doomed printer"))
            ):
                await connection.execute(  # indexed under 0002's key (the model has moved on)
                    text(
                        "INSERT INTO ticket (id, title, content, status, created_at, updated_at,"
                        " search_text) VALUES (:id, :title, 'x', 'OPEN', :at, :at, :words)"
                    ),
                    {
                        "id": ticket_id,
                        "title": title,
                        "at": f"2026-12-01 10:00:0{n}.000000",
                        "words": f"{title.lower()} x",
                    },
                )
        await db.create_schema()

        async with db.transaction() as session:
            doomed = await session.get(Ticket, "t2")
            assert doomed is not None
            await session.delete(doomed)  # the trigger finds its row under the new key
        async with db.engine.connect() as connection:
            indexed = (
                await connection.execute(
                    text(
                        "SELECT rowid, ticket_id FROM ticket_search WHERE ticket_search MATCH 'p*'"
                    )
                )
            ).all()
            kept = (await connection.execute(text("SELECT created_at FROM ticket"))).scalar_one()
    finally:
        await db.close()
    assert indexed == [(search.sqlite_order_key(str(kept), "t1"), "t1")]


async def test_concurrent_starts_in_one_process_all_succeed(tmp_path: Path) -> None:
    # Two on one file, two more on files of their own (Alembic's globals).
    paths = ["race.db", "race.db", "other.db", "third.db"]
    dbs = [Database(sqlite_url(tmp_path / name)) for name in paths]
    try:
        await asyncio.gather(*(db.create_schema() for db in dbs))
        assert [await revision(db) for db in dbs] == [HEAD] * len(dbs)
    finally:
        for db in dbs:
            await db.close()


async def test_apps_starting_at_once_on_one_sqlite_file_all_succeed(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "procs.db")

    results = await start_apps_at_once(url, 3)

    # The whole of each process's error output: pytest would cut it short.
    assert results == [(0, "")] * 3, "\n\n".join(err for _, err in results if err)
    db = Database(url)
    try:
        assert await revision(db) == HEAD
    finally:
        await db.close()


async def test_a_start_waits_out_another_process_migrating_longer_than_a_writes_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine another process's migrations can take longer than a
    write waits for the lock (here 50 ms): a start waits for them, not a crash."""
    path = tmp_path / "slow.db"
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 50)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")  # another process, in the middle of migrating
    db = Database(sqlite_url(path))
    try:
        await _start_outwaits(db, other)
    finally:
        other.close()
        await db.close()


async def _start_outwaits(db: Database, other: sqlite3.Connection) -> None:
    """``db`` starts while ``other`` holds the file or its lock for ten times a
    write's wait (then commits): it waits, then migrates to HEAD."""
    start = asyncio.create_task(db.create_schema())
    done, _ = await asyncio.wait([start], timeout=0.5)
    assert not done, "the start gave up while the other process held the file"
    other.execute("COMMIT")
    await start
    assert await revision(db) == HEAD


@pytest.mark.parametrize(
    "hold",
    [
        "BEGIN EXCLUSIVE",  # SQLite waits busy_timeout for this one
        "BEGIN IMMEDIATE",  # and refuses the switch at once for this one
    ],
)
async def test_a_start_waits_out_another_process_holding_the_file_longer_than_a_writes_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hold: str
) -> None:
    """Before WAL, another process creating the file (or converting it, or
    checkpointing it as it closes) holds it: a new connection's switch to
    WAL waits for it as a start waits for migrations, not a write's 50 ms."""
    path = tmp_path / "held.db"
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 50)
    other = sqlite3.connect(path, isolation_level=None)  # no WAL yet: a rollback journal
    other.execute("CREATE TABLE made_first (x)")
    other.execute(hold)
    db = Database(sqlite_url(path))
    try:
        await _start_outwaits(db, other)
        async with db.engine.connect() as connection:
            waits = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        assert (waits, mode) == (50, "wal")  # a write's wait again, once in WAL
    finally:
        other.close()
        await db.close()


async def test_every_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "roundtrip.db"))
    try:
        await db.create_schema()
        await downgrade_to_base(db)
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables == {"alembic_version"}
        await db.create_schema()
        assert await revision(db) == HEAD
        assert await schema_diff(db) == []
    finally:
        await db.close()


async def test_accounts_made_before_the_first_seat_keep_their_admin(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "seat.db"))
    try:
        await db.create_schema()
        async with db.engine.begin() as connection:
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0007"))
            for n, (name, admin) in enumerate((("Bob", False), ("Ada", True), ("Cy", False))):
                await connection.execute(
                    text(
                        "INSERT INTO app_user (id, name, email, password_hash, is_admin,"
                        " created_at) VALUES (:id, :name, :email, '-', :admin, :at)"
                    ),
                    {
                        "id": f"id-{name}",
                        "name": name,
                        "email": f"{name}@example.com",
                        "admin": admin,
                        "at": f"2026-01-0{n + 1} 00:00:00",
                    },
                )
        await db.create_schema()
        async with db.engine.connect() as connection:
            seat = (await connection.execute(text("SELECT id, user_id FROM first_account"))).all()
        assert [tuple(row) for row in seat] == [(1, "id-Ada")]
    finally:
        await db.close()
