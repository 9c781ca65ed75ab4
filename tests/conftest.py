"""One app per test, over its own database and cache, driven through httpx.

By default each test gets an SQLite file and a memory cache. With
``TEST_DATABASE_URL`` (a postgresql+asyncpg URL) each test gets a fresh
database on that server; with ``TEST_CACHE_URL`` (redis://) a key prefix of
its own on that Redis. scripts/test runs the suite both ways.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.applications import Starlette

from app.main import create_app
from app.models import Ticket, TicketStatus
from app.settings import Settings
from tests.support import RedisServer, fresh_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_CACHE_URL = os.environ.get("TEST_CACHE_URL", "")

sqlite_only = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="SQLite-specific: TEST_DATABASE_URL points at PostgreSQL"
)


def _cache_url() -> str:
    if not TEST_CACHE_URL:
        return "memory://"
    return f"{TEST_CACHE_URL}?prefix=test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server of this test's own, which it may kill and restart."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[Settings]:
    if not TEST_DATABASE_URL:
        sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}"
        yield Settings(database_url=sqlite_url, cache_url=_cache_url())
        return
    async with fresh_postgres_database(TEST_DATABASE_URL) as url:
        yield Settings(database_url=url, cache_url=_cache_url())


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


HTMX = {"HX-Request": "true"}


async def add_ticket(
    app: Starlette,
    title: str = "Printer on fire",
    content: str = "Smoke from tray 2.",
    status: TicketStatus = TicketStatus.OPEN,
) -> Ticket:
    """Write a ticket straight to the database (set-up, before anything is cached)."""
    async with app.state.db.transaction() as session:
        ticket = Ticket(title=title, content=content, status=status)
        session.add(ticket)
    return ticket


async def ticket_count(app: Starlette) -> int:
    async with app.state.db.session() as session:
        return (await session.exec(select(func.count()).select_from(Ticket))).one()
