"""Many processes, one truth: Redis for the cache, PostgreSQL for the data."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx

from harness.app_server import AppServer
from harness.client import create_ticket_async, sign_up_async
from harness.metrics import metrics
from harness.servers import RedisServer

Cluster = Callable[[int], list[AppServer]]


async def create(client: httpx.AsyncClient, server: AppServer, title: str) -> str:
    return await create_ticket_async(client, server.base_url, title)


async def sample(client: httpx.AsyncClient, server: AppServer, name: str) -> float:
    return metrics((await client.get(server.base_url + "/metrics")).text)[name]


async def renders(client: httpx.AsyncClient, servers: list[AppServer]) -> float:
    return sum([await sample(client, server, "cache_renders_total") for server in servers])


async def next_invalidation(stream: httpx.Response) -> list[str]:
    """The tags of the next invalidate event on an open /events stream."""
    event = ""
    async for line in stream.aiter_lines():
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:") and event == "invalidate":
            tags: list[str] = json.loads(line.removeprefix("data:"))["tags"]
            if tags != ["*"]:  # the greeting after (re)subscribing: not a write
                return tags
    raise AssertionError("the stream ended")


async def test_a_delete_through_one_process_is_seen_by_the_other(cluster: Cluster) -> None:
    first, second = cluster(2)
    async with httpx.AsyncClient(timeout=10) as client:
        await sign_up_async(client, first.base_url)
        # Created through the second process, so that the only event about this
        # ticket its stream can carry is the delete heard from the first.
        ticket_id = await create(client, second, "Shared ticket")
        await client.get(second.base_url + "/tickets")
        warm = await client.get(second.base_url + "/tickets")

        async with client.stream("GET", second.base_url + "/events") as stream:
            deleted = await client.post(first.base_url + f"/tickets/{ticket_id}/delete")
            heard = await asyncio.wait_for(next_invalidation(stream), timeout=5)
        after = await client.get(second.base_url + "/tickets")
        again = await client.get(second.base_url + "/tickets")

    assert warm.headers["x-cache"] == "HIT" and "Shared ticket" in warm.text
    assert deleted.status_code == 303
    # Told over Redis, by process 1: what a delete of an open ticket moves.
    history = [tag for tag in heard if tag.startswith("ticket_change:")]  # the delete's entry
    assert len(history) == 1
    assert sorted(set(heard) - set(history)) == [
        "deleted_ticket",  # the row an undo restores
        f"deleted_ticket:{ticket_id}",
        "deleted_ticket?",
        "deleted_ticket?status=OPEN",
        "ticket",
        f"ticket:{ticket_id}",
        "ticket?",
        "ticket?assignee_id=None",
        "ticket?status=OPEN",
        "ticket_change",  # its history: the delete is recorded
        "ticket_change?",
        f"ticket_change?ticket_id={ticket_id}",
        "ticket_count",  # kept by triggers from ticket.status
        "ticket_count:OPEN",
        "ticket_count?",
    ]
    assert after.headers["x-cache"] == "MISS" and "Shared ticket" not in after.text
    assert again.headers["x-cache"] == "HIT"


async def test_one_invalidation_costs_one_render_in_the_whole_cluster(cluster: Cluster) -> None:
    servers = cluster(4)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=None)) as client:
        await sign_up_async(client, servers[0].base_url)
        ticket_id = await create(client, servers[0], "Hot ticket")
        for server in servers:
            await client.get(server.base_url + "/tickets")
        before = await renders(client, servers)

        await client.post(
            servers[1].base_url + f"/tickets/{ticket_id}/update", data={"status": "DONE"}
        )
        readers = [
            client.get(server.base_url + "/tickets") for server in servers for _ in range(64)
        ]
        responses = await asyncio.gather(*readers)
        after = await renders(client, servers)

    statuses = [r.headers["x-cache"] for r in responses]
    assert all(r.status_code == 200 for r in responses)
    assert statuses.count("MISS") == 1, statuses
    # One render of each entry the update expired: the page, its counts, its
    # list page, and the one row that changed.
    assert after - before == 4
    assert all("Hot ticket" in r.text and "selected>Done" in r.text for r in responses)


async def test_killing_redis_mid_load_gives_no_error_and_no_stale_page(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    first, second = cluster(2)
    async with httpx.AsyncClient(timeout=10) as client:
        await sign_up_async(client, first.base_url)
        for round_number in range(30):
            if round_number == 10:
                redis_server.stop()
            if round_number == 20:
                redis_server.start()
            writer, reader = (first, second) if round_number % 2 else (second, first)
            title = f"Round {round_number}"
            await create(client, writer, title)
            pages = await asyncio.gather(
                *(client.get(reader.base_url + "/tickets") for _ in range(8))
            )
            assert all(page.status_code == 200 for page in pages), round_number
            assert all(title in page.text for page in pages), [  # never stale
                (round_number, page.headers["x-cache"], page.text.count("ticket-row"))
                for page in pages
            ]
            if 10 <= round_number < 20:
                assert {page.headers["x-cache"] for page in pages} == {"BYPASS"}

        # Redis is back: caching resumes by itself, without restarting the app,
        # once the store's pause after a failure (RETRY_AFTER_FAILURE) is over.
        statuses: list[str] = []
        deadline = time.monotonic() + 10
        while "HIT" not in statuses and time.monotonic() < deadline:
            page = await client.get(second.base_url + "/tickets")
            assert page.status_code == 200
            statuses.append(page.headers["x-cache"])
            await asyncio.sleep(0.05)  # another process recovering: nothing to await
        store_errors = await sample(client, first, "cache_store_errors_total")

    assert statuses[-1] == "HIT", statuses
    assert store_errors >= 1
