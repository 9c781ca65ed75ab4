"""Measurements against the live cached server through httpx.

- how many renders one invalidation costs when 64 readers arrive at once
  (single-flight should hold it to one render per invalidated entry);
- how long "delete a ticket, then load the fresh list page" takes.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass

import httpx

LIST = "/tickets"
_ROW_ID = re.compile(r'id="ticket-([0-9a-f-]{36})"')


def metric(text: str, name: str) -> float:
    """One unlabelled sample of the Prometheus text, 0 if absent."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


def counters(client: httpx.Client, *names: str) -> dict[str, float]:
    text = client.get("/metrics").text
    return {name: metric(text, name) for name in names}


# -- renders per invalidation ------------------------------------------------


@dataclass(frozen=True)
class Invalidation:
    readers: int
    rounds: int
    renders: float  # per invalidation
    misses: float  # MISS answers per invalidation, out of ``readers``


async def _read_all(client: httpx.AsyncClient, readers: int) -> list[str]:
    responses = await asyncio.gather(*(client.get(LIST) for _ in range(readers)))
    for response in responses:
        response.raise_for_status()
    return [response.headers.get("x-cache", "") for response in responses]


async def _invalidation(base_url: str, ticket_id: str, readers: int, rounds: int) -> Invalidation:
    limits = httpx.Limits(max_connections=readers, max_keepalive_connections=readers)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:
        await _read_all(client, readers)  # open the connections and warm the page first
        before = metric((await client.get("/metrics")).text, "cache_renders_total")
        misses = 0
        for i in range(rounds):
            status = "DONE" if i % 2 == 0 else "OPEN"
            update = await client.post(f"/tickets/{ticket_id}/update", data={"status": status})
            if update.status_code != 303:
                raise RuntimeError(f"update answered {update.status_code}, expected 303")
            misses += (await _read_all(client, readers)).count("MISS")
        after = metric((await client.get("/metrics")).text, "cache_renders_total")
    return Invalidation(readers, rounds, (after - before) / rounds, misses / rounds)


def renders_per_invalidation(
    base_url: str, ticket_id: str, *, readers: int, rounds: int
) -> Invalidation:
    return asyncio.run(_invalidation(base_url, ticket_id, readers, rounds))


# -- a delete followed by the fresh list page --------------------------------


@dataclass(frozen=True)
class DeleteThenList:
    iterations: int
    total_p50_ms: float
    delete_p50_ms: float
    list_p50_ms: float


def delete_then_list(base_url: str, *, iterations: int) -> DeleteThenList:
    totals: list[float] = []
    deletes: list[float] = []
    lists: list[float] = []
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for i in range(iterations):
            # Create one ticket per iteration (untimed) so the list keeps its size;
            # the inline htmx answer is the new row, which carries the new id.
            created = client.post(
                "/tickets",
                data={"title": f"To delete {i}", "content": "Created by the benchmark."},
                headers={"HX-Request": "true", "HX-Target": "ticket-list"},
            )
            created.raise_for_status()
            found = _ROW_ID.search(created.text)
            if found is None:
                raise RuntimeError(f"no ticket id in the create answer:\n{created.text[:500]}")
            client.get(LIST).raise_for_status()  # cache the page, as a visitor would have

            start = time.perf_counter()
            deleted = client.post(f"/tickets/{found[1]}/delete")
            middle = time.perf_counter()
            page = client.get(LIST)
            end = time.perf_counter()
            if deleted.status_code != 303:
                raise RuntimeError(f"delete answered {deleted.status_code}, expected 303")
            if page.status_code != 200 or page.headers.get("x-cache") != "MISS":
                raise RuntimeError(
                    f"list after delete: {page.status_code} X-Cache "
                    f"{page.headers.get('x-cache')}, expected 200 MISS"
                )
            if f'id="ticket-{found[1]}"' in page.text:
                raise RuntimeError("the deleted ticket is still on the list page")
            totals.append(end - start)
            deletes.append(middle - start)
            lists.append(end - middle)
    return DeleteThenList(
        iterations,
        statistics.median(totals) * 1e3,
        statistics.median(deletes) * 1e3,
        statistics.median(lists) * 1e3,
    )
