"""Rows of the table: one URL of one server under wrk, loaded in interleaved rounds.

Every row's loads are interleaved with the others' (``load_rounds``) and its
figures are the medians of its rounds, so that a burst of noise on the shared
machine cannot fall on one row only. Around each load the row counts its
server's CPU time (``/proc``), its cache renders and HITs (every worker's
/metrics, through bench.pin), and redis-server's CPU time for the Redis rows.
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench import pin, wrk
from harness.app_server import AppServer

RENDERS = "cache_renders_total"
HITS = "cache_hits_total"


@dataclass(frozen=True)
class Load:
    """How every row is loaded: wrk's settings and where it runs."""

    duration: int
    connections: int


@dataclass
class Row:
    name: str
    server: AppServer
    check: str  # what was verified before loading it
    path: str = "/tickets"
    headers: dict[str, str] = field(default_factory=dict)  # sent by wrk with every request
    unique: bool = False  # no two requests alike (wrk.UNIQUE): none answered as a repeat
    script: Path | None = None  # another wrk script (wrk.UNIQUE_COOKIE)
    wrk_cpus: str | None = None  # taskset -c for wrk (its server is pinned to the others)
    has_metrics: bool = True
    redis_url: str | None = None  # the Redis whose CPU time to count, for the Redis rows
    size: int = 0  # body bytes of one answer, as sent
    encoding: str = "identity"  # Content-Encoding of one answer
    slices: list[wrk.Load] = field(default_factory=list)
    renders: float = 0.0  # cache renders during the timed slices, all workers
    hits: dict[str, float] = field(default_factory=dict)  # worker -> HITs during the slices
    splits: list[list[float]] = field(default_factory=list)  # each slice's worker shares
    seconds: float = 0.0  # wall time of the timed slices
    cpu: float = 0.0  # CPU seconds of the server's processes during them
    redis_cpu: float = 0.0  # CPU seconds of redis-server during them

    @property
    def url(self) -> str:
        return self.server.base_url + self.path

    @property
    def workers(self) -> int:
        return self.server.workers

    @property
    def rps(self) -> float:
        return statistics.median([s.requests_per_s for s in self.slices])

    @property
    def p50_ms(self) -> float:
        return statistics.median([s.p50_ms for s in self.slices])

    @property
    def p99_ms(self) -> float:
        return statistics.median([s.p99_ms for s in self.slices])

    @property
    def tail(self) -> float:
        """p99 / p50: how far the slow requests are from the typical one."""
        return self.p99_ms / self.p50_ms

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds' req/s: how noisy this row was."""
        values = [s.requests_per_s for s in self.slices]
        return (max(values) - min(values)) / self.rps

    @property
    def renders_per_request(self) -> float | None:
        if not self.has_metrics:
            return None
        return self.renders / sum(s.requests for s in self.slices)

    @property
    def cpus(self) -> float:
        """CPUs the server's processes kept busy under load (1.00 = one core)."""
        return self.cpu / self.seconds

    def worker_shares(self) -> list[float]:
        """Each worker's part of the HITs served under load, largest first."""
        return shares(self.hits)


def shares(hits: dict[str, float]) -> list[float]:
    total = sum(hits.values())
    return sorted((n / total for n in hits.values()), reverse=True) if total else []


def redis_cpu_seconds(url: str) -> float:
    with redis.Redis.from_url(url) as client:
        info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _counters(row: Row) -> dict[str, dict[str, float]]:
    if not row.has_metrics:
        return {}
    return pin.scrape(row.server.base_url, RENDERS, HITS, workers=row.workers)


def load_once(row: Row, load: Load, duration: int | None = None) -> wrk.Load:
    """One wrk load of ``row``, not counted in its figures."""
    return wrk.run(
        row.url,
        duration=duration or load.duration,
        connections=load.connections,
        headers=row.headers,
        cpus=row.wrk_cpus,
        script=row.script or (wrk.UNIQUE if row.unique else None),
    )


def load_slice(row: Row, load: Load) -> None:
    """One timed load of ``row``, with its server's counters around it."""
    before = _counters(row)
    redis_before = redis_cpu_seconds(row.redis_url) if row.redis_url else 0.0
    cpu_before = row.server.cpu_seconds()
    start = time.monotonic()
    result = load_once(row, load)
    row.seconds += time.monotonic() - start
    row.cpu += row.server.cpu_seconds() - cpu_before
    if row.redis_url:
        row.redis_cpu += redis_cpu_seconds(row.redis_url) - redis_before
    after = _counters(row)
    if result.errors:
        raise RuntimeError(f"{row.name}: {result.errors} errors under load:\n{result.output}")
    if after.keys() != before.keys():
        raise RuntimeError(f"{row.name}: the workers changed under load (one restarted?)")
    row.slices.append(result)
    hits: dict[str, float] = {}
    for worker, values in after.items():
        row.renders += values[RENDERS] - before[worker][RENDERS]
        hits[worker] = values[HITS] - before[worker][HITS]
        row.hits[worker] = row.hits.get(worker, 0.0) + hits[worker]
    row.splits.append(shares(hits))


def load_rounds(rows: list[Row], load: Load, rounds: int) -> None:
    """A short untimed load of each row (so each is measured warm), then the rounds."""
    # Not a Redis row's: paused for longer than its channel's silence limit, it
    # would take the pause for a partition and put its near copy away.
    on_redis = {id(row.server) for row in rows if row.redis_url}
    servers = [
        server
        for server in {id(row.server): row.server for row in rows}.values()
        if id(server) not in on_redis
    ]
    for row in rows:
        load_once(row, load, duration=1)
    for _ in range(rounds):
        for row in rows:
            with alone(row.server, servers):
                load_slice(row, load)


@contextmanager
def alone(server: AppServer, servers: list[AppServer]) -> Iterator[None]:
    """Only ``server`` runs (the others are stopped, SIGSTOP, and go on after).

    The other rows' servers share its CPU, and each wakes on its own timers
    (its outbox sweep, five times a second): they landed in its p99, the
    bare app's as much as the cache's. Its own timers still run. Servers with
    several workers go on: their supervisor, paused with them, would find them
    late to answer its health checks when they go on, and replace them.
    ``servers``: those that may be paused.
    """
    paused: list[int] = []
    try:
        for other in servers:
            if other is not server and other.process and other.workers == 1:
                with suppress(ProcessLookupError):  # one that died meanwhile
                    os.killpg(other.process.pid, signal.SIGSTOP)  # it leads its group
                    paused.append(other.process.pid)
        yield
    finally:
        for group in paused:
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)
