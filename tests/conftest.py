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
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.applications import Starlette

from app.accounts import sessions
from app.main import create_app
from app.models import Ticket, TicketStatus, User
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
async def visitor(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Somebody nobody knows: no session."""
    async with app_client(app) as client:
        yield client


@pytest.fixture
async def client(app: Starlette, visitor: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Ada, signed in: the first account, so the admin (she may do anything)."""
    async with app_client(app) as client:
        await sign_in(app, client, "Ada")
        yield client


@asynccontextmanager
async def app_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def sign_in(app: Starlette, client: httpx.AsyncClient, name: str) -> User:
    """An account named ``name`` (the first one made is the admin), signed in on
    ``client``: written straight to the database, sparing each test an Argon2 hash."""
    async with app.state.db.transaction() as session:
        nobody_yet = (await session.exec(select(func.count()).select_from(User))).one() == 0
        user = User(
            name=name,
            email=f"{name.lower()}@example.com",
            password_hash="not a hash: this account signs in by its session only",
            is_admin=nobody_yet,
        )
        session.add(user)
        token = await sessions.start(session, user)
    client.cookies.set(sessions.COOKIE, token)
    return user


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
