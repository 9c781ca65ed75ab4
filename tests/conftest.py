"""One app per test, over its own database and cache, driven through httpx.

By default each test gets an SQLite file and a memory cache. With
``TEST_DATABASE_URL`` (a postgresql+asyncpg URL) each test gets a fresh
database on that server; with ``TEST_CACHE_URL`` (redis://) a key prefix of
its own on that Redis. scripts/test runs the suite both ways.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from harness.servers import RedisServer
from tests.helpers import app_client, own_cache_url, own_database, sign_in


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server of this test's own, which it may kill and restart."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[Settings]:
    async with own_database(tmp_path) as url:
        yield Settings(database_url=url, cache_url=own_cache_url())


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
