"""One app per test, over its own database and cache, driven through httpx.

By default each test gets an SQLite file and a memory cache. With
``TEST_DATABASE_URL`` (a postgresql+asyncpg URL) each test gets a fresh
database on that server; with ``TEST_CACHE_URL`` (redis://) a key prefix of
its own on that Redis. scripts/test runs the suite both ways. Either way the
database is a copy of one migrated once per test process (``schema_template``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from harness.servers import RedisServer
from tests.helpers import (
    DROPS,
    app_client,
    drop_template,
    migrated_template,
    own_cache_url,
    own_database,
    sign_in,
)


def pytest_configure(config: pytest.Config) -> None:
    # Every edge a test starts (harness.servers.EdgeServer, scripts/run)
    # compiles its VCL unoptimised: the same VCL, a second less per start.
    os.environ.setdefault("EDGE_QUICK_BUILD", "1")
    # Every app a test starts hashes passwords with Argon2's cheapest
    # parameters (the servers read it from here, the in-process apps from the
    # settings below): the standard ones cost ~0.2 s of CPU per sign-up and
    # login, about a minute of CPU a pass. tests/test_passwords.py runs them.
    os.environ.setdefault("PASSWORD_HASHING", "cheapest")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server of this test's own, which it may kill and restart."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def dropped_at_the_end() -> Iterator[None]:
    """Every test's PostgreSQL database is dropped before the session ends
    (``own_database`` hands each to ``DROPS`` rather than waiting for it)."""
    yield
    DROPS.finish()


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database at the newest migration, made once per test process (each
    pytest-xdist worker has its own), which ``settings`` copies for each test.
    Made and dropped on event loops of their own: it outlives every test's."""
    url = asyncio.run(migrated_template(tmp_path_factory.mktemp("template")))
    yield url
    asyncio.run(drop_template(url))


@pytest.fixture
async def settings(tmp_path: Path, schema_template: str) -> AsyncIterator[Settings]:
    async with own_database(tmp_path, schema_template) as url:
        yield Settings(
            database_url=url,
            cache_url=own_cache_url(),
            password_hashing=Settings.from_env().password_hashing,
        )


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


@pytest.fixture
async def bob(app: Starlette, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Bob, signed in after Ada (``client``): a person, not an admin."""
    async with app_client(app) as bob:
        await sign_in(app, bob, "Bob")
        yield bob


@pytest.fixture
async def carol(app: Starlette, bob: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Carol, signed in after Bob: another person, not an admin."""
    async with app_client(app) as carol:
        await sign_in(app, carol, "Carol")
        yield carol


# The longest tests (15-75 s each, most of them starting servers), begun
# first: pytest-xdist hands tests out in this order, and a worker that drew
# one late would leave the others idle at the end (an idle worker takes
# tests from another's queue, not half of a running test). Measured with
# `scripts/test --durations=30`; a test not listed keeps its place.
LONG_FIRST = (
    "tests/cache/test_model.py",
    "tests/test_fresh.py::test_no_cached_answer_differs_from_the_oracles",
    "tests/cluster/test_read_your_writes.py",
    "tests/cluster/test_cluster.py",
    "tests/cluster/test_server.py",
    "tests/edge/test_fresh_edge.py",
    "tests/edge/test_fuzz_edge.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next(
            (n for n, long in enumerate(LONG_FIRST) if item.nodeid.startswith(long)),
            len(LONG_FIRST),
        )

    items.sort(key=rank)  # stable: the rest keep their order
