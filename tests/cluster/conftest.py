"""Several real app processes sharing one Redis and one PostgreSQL.

The PostgreSQL server comes from ``PG_DATABASE_URL`` (scripts/test starts it
with scripts/services); each test gets a fresh database on it and a private
redis-server of its own, so that a test can kill and restart it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from harness.app_server import AppServer
from harness.servers import RedisServer, fresh_postgres_database

PG_DATABASE_URL = os.environ.get("PG_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not PG_DATABASE_URL, reason="needs PG_DATABASE_URL (scripts/test starts PostgreSQL)"
)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    if not PG_DATABASE_URL:
        pytest.skip("needs PG_DATABASE_URL (scripts/test starts PostgreSQL)")
    async with fresh_postgres_database(PG_DATABASE_URL) as url:
        yield url


@pytest.fixture
def cluster(
    tmp_path: Path, redis_server: RedisServer, database_url: str
) -> Iterator[Callable[[int], list[AppServer]]]:
    """Start n app processes over the shared Redis and database."""
    started: list[AppServer] = []

    def start(n: int) -> list[AppServer]:
        env = {"CACHE_URL": redis_server.url, "DATABASE_URL": database_url}
        servers = [AppServer(tmp_path / f"app-{i}.log", env=env).start() for i in range(n)]
        started.extend(servers)
        return servers

    yield start
    for server in started:  # all at once: each may take a moment to stop
        server.terminate()
    for server in started:
        server.stop()
