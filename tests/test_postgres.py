"""PostgreSQL (asyncpg): migrations on start, the app end to end, concurrent starts.

Runs only against a real server: PG_DATABASE_URL, a postgresql+asyncpg:// URL
whose role may create databases (``scripts/services start DIR`` writes one to
DIR/env). Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from app.db import Database
from app.main import create_app
from app.models import Ticket, TicketStatus
from app.settings import Settings
from harness.servers import fresh_postgres_database
from tests.helpers import (
    HEAD,
    downgrade_to_base,
    revision,
    schema_diff,
    sign_in,
    start_apps_at_once,
)

PG_URL = os.environ.get("PG_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="PG_DATABASE_URL is not set, so there is no PostgreSQL to test against "
    "(scripts/services start DIR starts one and writes its URL to DIR/env)",
)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A new, empty database on the PG_DATABASE_URL server; dropped after the test."""
    async with fresh_postgres_database(PG_URL) as url:
        yield url


async def test_migrations_build_the_schema_of_the_models_on_an_empty_database(
    pg_url: str,
) -> None:
    db = Database(pg_url)
    try:
        await db.create_schema()
        await db.create_schema()

        assert await revision(db) == HEAD
        assert await schema_diff(db) == []
        async with db.engine.connect() as connection:
            enum = (
                await connection.execute(
                    text(
                        "SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum"
                        " JOIN pg_type ON pg_type.oid = enumtypid"
                        " WHERE typname = 'ticketstatus'"
                    )
                )
            ).scalar_one()
            columns = (
                await connection.execute(
                    text(
                        "SELECT column_name, udt_name, character_maximum_length, is_nullable"
                        " FROM information_schema.columns WHERE table_name = 'ticket'"
                        " ORDER BY ordinal_position"
                    )
                )
            ).all()
            indexes = await connection.run_sync(lambda c: inspect(c).get_indexes("ticket"))
        assert enum == ["OPEN", "IN_PROGRESS", "DONE"]
        assert [tuple(c) for c in columns] == [
            ("id", "varchar", 36, "NO"),
            ("title", "varchar", 191, "NO"),
            ("content", "varchar", 1024, "NO"),
            ("status", "ticketstatus", None, "NO"),
            ("created_at", "timestamptz", None, "NO"),
            ("updated_at", "timestamptz", None, "NO"),
            ("search_text", "varchar", None, "NO"),
            ("search_vector", "tsvector", None, "YES"),
            ("author_id", "varchar", 36, "YES"),
            ("number", "int4", None, "YES"),  # migration 0010: #123
            ("assignee_id", "varchar", 36, "YES"),  # migration 0011: teams
            ("version", "int4", None, "NO"),
            ("comment_count", "int4", None, "NO"),
        ]
        assert sorted((i["name"], i["column_names"]) for i in indexes) == [
            ("ix_ticket_assignee_newest", ["assignee_id", "created_at", "id"]),
            ("ix_ticket_comments", ["comment_count", "created_at", "id"]),
            ("ix_ticket_newest", ["created_at", "id"]),
            ("ix_ticket_number", ["number"]),
            ("ix_ticket_search", ["search_vector"]),
            ("ix_ticket_status_newest", ["status", "created_at", "id"]),
            ("ix_ticket_updated", ["updated_at", "id"]),
        ]
    finally:
        await db.close()


async def test_migrations_downgrade_to_nothing_and_upgrade_again(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        await db.create_schema()
        await downgrade_to_base(db)
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            types = (
                await connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
            ).all()
        assert (tables, types) == ({"alembic_version"}, [])

        await db.create_schema()
        assert await revision(db) == HEAD
        assert await schema_diff(db) == []
    finally:
        await db.close()


async def test_the_app_works_end_to_end(pg_url: str) -> None:
    app = create_app(Settings(database_url=pg_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as client,
    ):
        assert (await client.get("/tickets")).headers["x-cache"] == "MISS"
        await sign_in(app, client, "Ada")

        created = await client.post(
            "/tickets", data={"title": "Café printer on fire", "content": "Smoke, tray 2."}
        )
        listing = await client.get("/tickets")
        again = await client.get("/tickets")

        assert created.status_code == 303
        assert listing.headers["x-cache"] == "MISS"
        assert "Café printer on fire" in listing.text
        assert again.headers["x-cache"] == "HIT"
        match = re.search(r'id="ticket-([0-9a-f-]{36})"', listing.text)
        assert match is not None
        ticket_id = match[1]

        updated = await client.post(f"/tickets/{ticket_id}/update", data={"status": "DONE"})
        page = await client.get(f"/tickets/{ticket_id}")

        assert updated.status_code == 303
        assert page.status_code == 200 and "Done" in page.text
        async with app.state.db.session() as session:
            ticket = (await session.exec(select(Ticket))).one()
        assert ticket.status is TicketStatus.DONE
        assert ticket.title == "Café printer on fire"
        assert ticket.created_at.tzinfo is not None
        assert ticket.created_at.utcoffset() == UTC.utcoffset(None)
        assert ticket.updated_at >= ticket.created_at

        deleted = await client.post(f"/tickets/{ticket_id}/delete")
        gone = await client.get(f"/tickets/{ticket_id}")
        listing = await client.get("/tickets")

        assert deleted.status_code == 303
        assert gone.status_code == 404
        assert listing.headers["x-cache"] == "MISS"
        assert f"ticket-{ticket_id}" not in listing.text


async def test_two_concurrent_create_schema_calls_both_succeed(pg_url: str) -> None:
    dbs = [Database(pg_url), Database(pg_url)]
    try:
        await asyncio.gather(*(db.create_schema() for db in dbs))
        assert [await revision(db) for db in dbs] == [HEAD, HEAD]
    finally:
        for db in dbs:
            await db.close()


async def test_apps_starting_at_once_on_one_database_all_succeed(pg_url: str) -> None:
    # Separate processes: only the advisory lock keeps them from racing.
    results = await start_apps_at_once(pg_url, 3)

    assert results == [(0, "")] * 3
    db = Database(pg_url)
    try:
        assert await revision(db) == HEAD
        assert await schema_diff(db) == []
    finally:
        await db.close()
