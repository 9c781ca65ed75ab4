"""A person reads their own writes through every layer: each process, its near
copies, and the edge.

Two processes over Redis with near copies (``?near=1``) and PostgreSQL, and
the edge in front of the second. No process purges the edge (no
``EDGE_PORT``): what a purge would do, lost or late, is left to the write's
token alone (the ``cache-read-after`` cookie), which the edge compares with
each object's ``x-cache-clock`` and each process with what its invalidation
channel has told it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.app_server import AppServer
from harness.client import create_ticket_async, sign_up_async
from harness.servers import EdgeServer, RedisServer

WRITES = int(os.environ.get("RYW_WRITES", "500"))


@pytest.fixture
def servers(
    tmp_path: Path, redis_server: RedisServer, database_url: str
) -> Iterator[tuple[AppServer, AppServer, EdgeServer]]:
    env = {"CACHE_URL": redis_server.url + "?near=1", "DATABASE_URL": database_url}
    first = AppServer(tmp_path / "app-0.log", env=env).start()
    second = AppServer(tmp_path / "app-1.log", env=env)
    edge = EdgeServer(tmp_path / "edge", second.port).start()
    try:
        second.start()
        yield first, second, edge
    finally:
        first.terminate()
        second.terminate()
        first.stop()
        second.stop()
        edge.stop()


async def test_a_persons_next_read_after_each_write_shows_it_in_every_process_and_the_edge(
    servers: tuple[AppServer, AppServer, EdgeServer],
) -> None:
    first, second, edge = servers
    async with httpx.AsyncClient(timeout=10) as person, httpx.AsyncClient(timeout=10) as visitor:
        await sign_up_async(person, first.base_url)
        ticket_id = await create_ticket_async(person, first.base_url, "Round -1")
        page, listing = f"/tickets/{ticket_id}", "/tickets"
        for url in (page, listing):  # every layer holds both before the first write
            for base in (first.base_url, second.base_url, edge.base_url):
                await person.get(base + url)
                await person.get(base + url)
        kept = await visitor.get(edge.base_url + page)  # a visitor's object, at the edge

        misses, edge_statuses = [], []
        for n in range(WRITES):
            writer, reader = (first, second) if n % 2 == 0 else (second, first)
            title = f"Round {n}"  # the ticket page lists old titles too, never a new one
            wrote = await person.post(writer.base_url + page + "/update", data={"title": title})
            assert wrote.status_code == 303, (n, wrote.status_code, wrote.text[:300])
            for where, base in (("process", reader.base_url), ("edge", edge.base_url)):
                for url in (page, listing):
                    read = await person.get(base + url)
                    assert read.status_code == 200, (n, where, url, read.status_code)
                    if not re.search(rf"{title}(?!\d)", read.text):  # not Round 10 for 1
                        misses.append((n, where, url, read.headers.get("cache-status")))
                    if where == "edge" and url == page:
                        edge_statuses.append(read.headers.get("cache-status", ""))
        unpurged = await visitor.get(edge.base_url + page)

    assert misses == [], misses[:10]
    # The token did it: no purge reached the edge, whose visitor's object is as it was.
    assert "Round -1" in kept.text and "Round -1" in unpurged.text
    assert unpurged.headers["cache-status"].endswith("edge; hit")
    assert all(status.endswith("edge; fwd=miss") for status in edge_statuses)
