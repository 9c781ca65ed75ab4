"""Connections pinned to the workers of a server, and counters summed over them.

Several workers (``--workers N``) share one listening socket and the kernel
picks which one accepts a connection; each has its own /metrics. A worker is
told apart by its counters' creation times (``harness.metrics.worker_of``), so a
connection can be "pinned": opened, asked for /metrics, and kept only if its
worker still needs one. Counters summed over one pinned connection per
worker are the whole server's.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import httpx

from harness.metrics import metrics, worker_of

# What wrk gets, since it sends no Accept-Encoding; httpx would ask for gzip and br.
IDENTITY = {"Accept-Encoding": "identity"}


def client(base_url: str) -> httpx.AsyncClient:
    # One keep-alive connection per client: it stays with the worker that accepted it.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0, headers=IDENTITY)


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
        """worker -> name -> value, as of the last look (0 for a sample not there)."""
        parsed = {worker: metrics(text) for worker, text in self.texts.items()}
        return {
            worker: {name: samples.get(name, 0.0) for name in names}
            for worker, samples in parsed.items()
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
            burst = [client(base_url) for _ in range(connections - kept)]
            opened += burst
            texts = await asyncio.gather(*(_metrics(each) for each in burst))
            for each, text in zip(burst, texts, strict=True):
                worker = worker_of(text)
                if worker not in pinned.clients and len(pinned.clients) == workers:
                    raise RuntimeError(f"{base_url}: more than {workers} workers answered")
                group = pinned.clients.setdefault(worker, [])
                unmet = workers - len(pinned.clients)
                # Keep it if its worker is short of its share, leaving room
                # for one connection to each worker not met yet.
                if len(group) < share and len(pinned.all) + 1 + unmet <= connections:
                    group.append(each)
                    pinned.texts[worker] = text
                else:
                    await each.aclose()
    except BaseException:
        await asyncio.gather(*(each.aclose() for each in opened))
        raise
    return pinned


async def scrape_async(
    base_url: str, workers: int, names: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """``scrape`` inside a running event loop."""
    pinned = await pin(base_url, workers=workers, connections=workers)
    try:
        return pinned.counters(*names)
    finally:
        await pinned.aclose()


def scrape(base_url: str, *names: str, workers: int = 1) -> dict[str, dict[str, float]]:
    """``names`` from each worker's /metrics: worker -> name -> value."""
    return asyncio.run(scrape_async(base_url, workers, names))


async def _each_worker(base_url: str, workers: int, path: str) -> list[httpx.Response]:
    pinned = await pin(base_url, workers=workers, connections=workers)
    try:
        return list(await asyncio.gather(*(each.get(path) for each in pinned.all)))
    finally:
        await pinned.aclose()


def from_each_worker(base_url: str, path: str, *, workers: int) -> list[httpx.Response]:
    """GET ``path`` once from each worker."""
    return asyncio.run(_each_worker(base_url, workers, path))
