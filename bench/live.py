"""Measurements against a live server through httpx.

- how many renders one invalidation costs when 64 readers arrive at once
  (single-flight should hold it to one render per invalidated entry, in the
  whole cluster when several workers share a Redis store);
- how long "delete a ticket, then load the fresh list page" takes.

Several workers (``uvicorn --workers N``) share one listening socket and the
kernel picks which one accepts a connection; each has its own /metrics. A
worker is told apart by its counters' creation times (``cache_hits_created``
and ``cache_renders_created``, set when its app was built), so a connection
can be "pinned": opened, asked for /metrics, and kept only if its worker still
needs one. Counters summed over one pinned connection per worker are the
cluster's.
"""

from __future__ import annotations

import asyncio
import collections
import math
import re
import statistics
import time
from dataclasses import dataclass

import httpx

LIST = "/tickets"
RENDERS = "cache_renders_total"
HITS = "cache_hits_total"
_ROW_ID = re.compile(r'id="ticket-([0-9a-f-]{36})"')
# Created with the app's cache, whatever else /metrics grows later.
_CREATED = re.compile(r"^cache_(?:hits|renders)_created (\S+)$", re.MULTILINE)


def metric(text: str, name: str) -> float:
    """One unlabelled sample of the Prometheus text, 0 if absent."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


def worker_of(text: str) -> str:
    """Which process answered this /metrics text: its counters' creation times."""
    stamps = _CREATED.findall(text)
    if len(stamps) != 2:
        raise RuntimeError("no cache_*_created samples in /metrics: cannot tell workers apart")
    return ",".join(stamps)


# -- connections pinned to workers ---------------------------------------------


def _client(base_url: str) -> httpx.AsyncClient:
    # One keep-alive connection per client: it stays with the worker that accepted it.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0)


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    response.raise_for_status()
    return response.text


@dataclass
class Pinned:
    """Open connections, grouped by the worker at their other end."""

    clients: dict[str, list[httpx.AsyncClient]]
    texts: dict[str, str]  # each worker's /metrics, as of the last look

    @property
    def all(self) -> list[httpx.AsyncClient]:
        return [client for group in self.clients.values() for client in group]

    def per_worker(self) -> list[int]:
        return sorted((len(group) for group in self.clients.values()), reverse=True)

    async def refresh(self) -> int:
        """Re-read /metrics on every connection; how many reach another worker than before.

        A connection the server closed (idle) is reopened by httpx, maybe to
        another worker; a worker that restarted has a new identity.
        """
        self.texts = {}
        moved = 0
        for worker, group in self.clients.items():
            for text in await asyncio.gather(*(_metrics(client) for client in group)):
                now = worker_of(text)
                moved += now != worker
                self.texts[now] = text
        return moved

    def counters(self, *names: str) -> dict[str, dict[str, float]]:
        return {
            worker: {name: metric(text, name) for name in names}
            for worker, text in self.texts.items()
        }

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.all))


async def pin(base_url: str, *, workers: int, connections: int, timeout: float = 20.0) -> Pinned:
    """``connections`` open connections spread over all ``workers``, as evenly as possible.

    Opens connections in bursts and keeps those whose worker is short of its
    share; raises if it cannot within ``timeout`` (or meets more workers).
    """
    share = math.ceil(connections / workers)
    if connections < workers:
        raise ValueError(f"{connections} connections cannot reach {workers} workers")
    pinned = Pinned({}, {})
    opened: list[httpx.AsyncClient] = []
    deadline = time.monotonic() + timeout
    try:
        # Room is kept for every worker not met yet, so a full count has met them all.
        while (kept := len(pinned.all)) < connections:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{base_url}: after {timeout:.0f}s, connections per worker "
                    f"{pinned.per_worker()}; wanted {connections} over {workers} workers"
                )
            burst = [_client(base_url) for _ in range(connections - kept)]
            opened += burst
            texts = await asyncio.gather(*(_metrics(client) for client in burst))
            for client, text in zip(burst, texts, strict=True):
                worker = worker_of(text)
                if worker not in pinned.clients and len(pinned.clients) == workers:
                    raise RuntimeError(f"{base_url}: more than {workers} workers answered")
                group = pinned.clients.setdefault(worker, [])
                unmet = workers - len(pinned.clients)
                # Keep it if its worker is short of its share, leaving room
                # for one connection to each worker not met yet.
                if len(group) < share and len(pinned.all) + 1 + unmet <= connections:
                    group.append(client)
                    pinned.texts[worker] = text
                else:
                    await client.aclose()
    except BaseException:
        await asyncio.gather(*(client.aclose() for client in opened))
        raise
    return pinned


async def _scrape(
    base_url: str, workers: int, names: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    pinned = await pin(base_url, workers=workers, connections=workers)
    try:
        return pinned.counters(*names)
    finally:
        await pinned.aclose()


def scrape(base_url: str, *names: str, workers: int = 1) -> dict[str, dict[str, float]]:
    """``names`` from each worker's /metrics: worker -> name -> value."""
    return asyncio.run(_scrape(base_url, workers, names))


async def _each_worker(base_url: str, workers: int, path: str) -> list[httpx.Response]:
    pinned = await pin(base_url, workers=workers, connections=workers)
    try:
        return list(await asyncio.gather(*(client.get(path) for client in pinned.all)))
    finally:
        await pinned.aclose()


def from_each_worker(base_url: str, path: str, *, workers: int) -> list[httpx.Response]:
    """GET ``path`` once from each worker."""
    return asyncio.run(_each_worker(base_url, workers, path))


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
    base_url: str, ticket_id: str, readers: int, rounds: int, workers: int
) -> Invalidation:
    pinned = await _pinned_readers(base_url, readers, workers)
    try:
        clients = pinned.all
        # Writers: one connection per worker, taking turns, so every worker
        # both sends invalidations and hears the others'.
        writers = [group[0] for group in pinned.clients.values()]
        before = pinned.counters(RENDERS)
        answers: collections.Counter[str] = collections.Counter()
        over_one = 0
        for i in range(rounds):
            status = "DONE" if i % 2 == 0 else "OPEN"
            writer = writers[i % len(writers)]
            update = await writer.post(f"/tickets/{ticket_id}/update", data={"status": status})
            if update.status_code != 303:
                raise RuntimeError(f"update answered {update.status_code}, expected 303")
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
    base_url: str, ticket_id: str, *, readers: int, rounds: int, workers: int = 1
) -> Invalidation:
    return asyncio.run(_invalidation(base_url, ticket_id, readers, rounds, workers))


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
