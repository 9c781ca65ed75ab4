"""Measurements against a live server through httpx.

- how many renders one invalidation costs when 64 readers arrive at once
  (single-flight should hold it to one render per invalidated entry, in the
  whole cluster when several workers share a Redis store); the readers are
  connections pinned to the workers (bench.pin);
- how long "delete a ticket, then load the fresh list page" takes.
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import time
from dataclasses import dataclass

import httpx

from bench.pin import Pinned, pin
from harness.client import create_ticket

LIST = "/tickets"
RENDERS = "cache_renders_total"
HITS = "cache_hits_total"


# -- renders per invalidation ------------------------------------------------


@dataclass(frozen=True)
class Invalidation:
    readers: int
    rounds: int
    renders: float | None  # per invalidation, summed over the workers; None if one restarted
    misses: float  # MISS answers per invalidation, out of ``readers``
    over_one: int  # invalidations answered with more than one MISS
    answers: dict[str, float]  # X-Cache value -> answers per invalidation
    per_worker: list[int]  # the readers' connections on each worker
    moved: int  # readers' connections found on another worker after the rounds


async def _read_all(readers: list[httpx.AsyncClient]) -> list[str]:
    responses = await asyncio.gather(*(client.get(LIST) for client in readers))
    for response in responses:
        response.raise_for_status()
    return [response.headers.get("x-cache", "") for response in responses]


async def _invalidation(
    base_url: str, ticket_id: str, readers: int, rounds: int, workers: int, session: str
) -> Invalidation:
    pinned = await _pinned_readers(base_url, readers, workers)
    try:
        clients = pinned.all
        # Writers: one connection per worker, taking turns, so every worker
        # both sends invalidations and hears the others'; signed in to write.
        writers = [group[0] for group in pinned.clients.values()]
        for writer in writers:
            writer.cookies.set("session", session)
        before = pinned.counters(RENDERS)
        answers: collections.Counter[str] = collections.Counter()
        over_one = 0
        for i in range(rounds):
            status = "DONE" if i % 2 == 0 else "OPEN"
            writer = writers[i % len(writers)]
            update = await writer.post(f"/tickets/{ticket_id}/update", data={"status": status})
            if update.status_code != 303 or update.headers["location"].startswith("/login"):
                raise RuntimeError(
                    f"update answered {update.status_code} {update.headers.get('location')}, "
                    "expected 303 to the ticket"
                )
            seen = await _read_all(clients)
            answers.update(seen)
            over_one += seen.count("MISS") > 1
        moved = await pinned.refresh()
        after = pinned.counters(RENDERS)
        renders = None
        if after.keys() == before.keys():  # else a worker restarted: its count is lost
            renders = sum(after[w][RENDERS] - before[w][RENDERS] for w in after) / rounds
        return Invalidation(
            readers=readers,
            rounds=rounds,
            renders=renders,
            misses=answers["MISS"] / rounds,
            over_one=over_one,
            answers={name: count / rounds for name, count in sorted(answers.items())},
            per_worker=pinned.per_worker(),
            moved=moved,
        )
    finally:
        await pinned.aclose()


async def _pinned_readers(base_url: str, readers: int, workers: int) -> Pinned:
    """Readers pinned to the workers, the page warm, every connection still in place."""
    for _ in range(3):
        pinned = await pin(base_url, workers=workers, connections=readers)
        await _read_all(pinned.all)  # warm the page first
        if not await pinned.refresh() and len(pinned.texts) == workers:
            return pinned
        await pinned.aclose()  # one was reopened to another worker: pin again
    raise RuntimeError(f"{base_url}: readers keep moving between workers")


def renders_per_invalidation(
    base_url: str, ticket_id: str, *, session: str, readers: int, rounds: int, workers: int = 1
) -> Invalidation:
    """``session``: a signed-in person's token, for the writes."""
    return asyncio.run(_invalidation(base_url, ticket_id, readers, rounds, workers, session))


# -- a delete followed by the fresh list page --------------------------------


@dataclass(frozen=True)
class DeleteThenList:
    iterations: int
    total_p50_ms: float
    delete_p50_ms: float
    list_p50_ms: float


def delete_then_list(base_url: str, *, session: str, iterations: int) -> DeleteThenList:
    """``session``: a token of the admin, who may delete every ticket."""
    totals: list[float] = []
    deletes: list[float] = []
    lists: list[float] = []
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        client.cookies.set("session", session)
        for i in range(iterations):
            # One ticket per iteration (untimed), so that the list keeps its size;
            # creating it loads the list page, which caches it as a visitor would.
            ticket_id = create_ticket(client, title=f"To delete {i}")

            start = time.perf_counter()
            deleted = client.post(f"/tickets/{ticket_id}/delete")
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
            if f'id="ticket-{ticket_id}"' in page.text:
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
