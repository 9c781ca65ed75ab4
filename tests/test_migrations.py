"""Migrations: the schema comes from app/migrations, runs on start, matches the models."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import col, select

from app.db import Database
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
        "invalidation_outbox",
        "app_user",
        "user_session",
        "login_failure",
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
            await connection.exec_driver_sql("ALTER TABLE ticket DROP COLUMN updated_at")
        diff = await schema_diff(db)
    finally:
        await db.close()
    assert [(op[0], op[2], op[3].name) for op in diff] == [("add_column", "ticket", "updated_at")]


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
        raw.execute(  # older, though inserted later: numbered first (0008)
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

    assert results == [(0, "")] * 3
    db = Database(url)
    try:
        assert await revision(db) == HEAD
    finally:
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
