"""A writer cut off from Redis, or killed right after its answer: no process
serves what the write changed for more than 1 s after the answer (the outbox)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.app_server import AppServer
from harness.client import create_ticket_async, sign_up_async
from harness.servers import RedisServer, TcpProxy

BOUND_S = 1.0  # the public contract's staleness bound


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[TcpProxy]:
    started = TcpProxy(redis_server.port).start()
    yield started
    started.close()


@pytest.fixture
def writer_and_reader(
    tmp_path: Path, database_url: str, redis_server: RedisServer, proxy: TcpProxy
) -> Iterator[tuple[AppServer, AppServer]]:
    """The writer reaches Redis through the proxy; the reader, directly."""
    writer = AppServer(
        tmp_path / "writer.log", env={"CACHE_URL": proxy.url, "DATABASE_URL": database_url}
    ).start()
    reader = AppServer(
        tmp_path / "reader.log", env={"CACHE_URL": redis_server.url, "DATABASE_URL": database_url}
    ).start()
    yield writer, reader
    for server in (writer, reader):
        server.stop()


async def seconds_until_gone(client: httpx.AsyncClient, url: str, since: float) -> float:
    """Read ``url`` until it is a 404 (polled, as a visitor would); seconds since ``since``."""
    while True:
        answer = await client.get(url)
        if answer.status_code == 404:
            return time.monotonic() - since
        assert answer.status_code == 200, answer.text
        if time.monotonic() - since > 5 * BOUND_S:
            raise AssertionError(f"{url} still served 5 s after the delete")


@pytest.mark.parametrize("then", ["writer-lives", "writer-killed"])
async def test_a_delete_by_a_writer_cut_off_from_redis_is_seen_within_a_second(
    writer_and_reader: tuple[AppServer, AppServer], proxy: TcpProxy, then: str
) -> None:
    writer, reader = writer_and_reader
    async with httpx.AsyncClient(timeout=10) as client:
        await sign_up_async(client, reader.base_url)
        ticket_id = await create_ticket_async(client, reader.base_url, "Partitioned")
        page = f"{reader.base_url}/tickets/{ticket_id}"
        await client.get(page)
        assert (await client.get(page)).headers["x-cache"] == "HIT"

        proxy.cut()
        deleted = await client.post(f"{writer.base_url}/tickets/{ticket_id}/delete")
        answered = time.monotonic()
        assert deleted.status_code == 303  # committed; its bump is owed
        if then == "writer-killed":
            assert writer.process is not None
            os.killpg(writer.process.pid, signal.SIGKILL)

        stale_for = await seconds_until_gone(client, page, answered)

    assert stale_for < BOUND_S
