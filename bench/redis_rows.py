"""The Redis store's rows: the cached page with one worker and with two, and
with one worker and the near copy (``?near=1``); and the renders one
invalidation costs across both workers.

Both servers share ``REDIS_URL`` (scripts/bench starts a private Redis), each
with a key prefix of its own, over a copy of the seeded SQLite data, so the
memory rows' writes and theirs never meet. Their page must be the memory
row's, byte for byte, from every worker.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import live, verify
from bench.rows import Row
from harness.app_server import AppServer

WORKERS = 2
NEAR_TARGET = 0.8  # the Redis store with its near copy / the memory store, req/s


@dataclass
class Redis:
    """What the Redis rows measured."""

    one: Row
    two: Row
    near: Row  # one worker, with the near copy (?near=1)
    url: str
    page_bytes: int
    many: live.Invalidation | None = None  # on the two-worker server


def with_prefix(base: str, prefix: str) -> str:
    """``base`` with the store's key prefix set: each server keeps entries of its own."""
    return f"{base}{'&' if '?' in base else '?'}prefix={prefix}"


def start(
    database: Path,
    tmp: Path,
    reference: httpx.Response,
    servers: list[AppServer],
    *,
    cpus: str | None,
) -> Redis:
    """Start and verify both servers (appended to ``servers``, for the caller to stop).

    The one-worker server is pinned to ``cpus`` like the memory rows (and its
    wrk to the other CPU); the two workers get every core, and so does their wrk.
    """
    url = os.environ["REDIS_URL"]
    copy = tmp / "redis.db"
    shutil.copyfile(database, copy)
    run_id = secrets.token_hex(4)
    rows = []
    for workers, near in ((1, False), (WORKERS, False), (1, True)):
        name = f"redis-{workers}w{'-near' if near else ''}"
        cache_url = with_prefix(url, f"bench-{run_id}-{name}") + ("&near=1" if near else "")
        env = {"DATABASE_URL": f"sqlite+aiosqlite:///{copy}", "CACHE_URL": cache_url}
        pinned = cpus if workers == 1 else None
        server = AppServer(
            tmp / f"{name}.log", workers=workers, env=env, cpus=pinned, pidfile=tmp / f"{name}.pid"
        )
        servers.append(server)
        server.start()
        label = f"redis store, {workers} worker{'s' if workers > 1 else ''}"
        label += ", near copy" if near else ""
        check = verify.same_hit(server, reference)
        wrk_cpus = _other_cpu(pinned) if pinned else None
        rows.append(Row(label, server, check, redis_url=url, wrk_cpus=wrk_cpus))
    return Redis(rows[0], rows[1], rows[2], url, len(reference.content))


def _other_cpu(cpus: str) -> str:
    return "1" if cpus == "0" else "0"


def report_ratios(memory: Row, redis: Redis) -> None:
    one, two = redis.one, redis.two
    rounds = ", ".join(_split(split) for split in two.splits)
    print(f"redis 1w / memory req/s  {one.rps / memory.rps:8.2f}")
    near = redis.near.rps / memory.rps
    verdict = "ok" if near >= NEAR_TARGET else "MISSED"
    print(f"redis 1w, near copy / memory req/s  {near:8.2f}   {verdict} (target >= {NEAR_TARGET})")
    print(f"redis 2w / 1w     req/s  {two.rps / one.rps:8.2f}")
    print(
        f"  redis rows: CACHE_URL={redis.url} (a key prefix per server), the same SQLite data; "
        f"redis-server CPUs under load: 1w {one.redis_cpu / one.seconds:.2f}, "
        f"2w {two.redis_cpu / two.seconds:.2f}; the 2w row and its wrk are not pinned"
    )
    print(
        f"  2w: HITs served per worker under load {_split(two.worker_shares())}, by round "
        f"{rounds} (each worker's cache_hits_total; the kernel hands each of wrk's "
        f"connections, opened at once, to whichever worker accepts first)"
    )


def report_invalidation(redis: Redis, renders: str) -> None:
    many = redis.many
    if many is None:
        return
    answers = ", ".join(f"{name} {count:.2f}" for name, count in many.answers.items())
    spread = " + ".join(str(n) for n in many.per_worker)
    moved = "" if not many.moved else f"; {many.moved} connections moved worker meanwhile"
    verdict = "ok" if many.misses == 1 else "EXPECTED 1"
    print(
        f"renders per invalidation, redis, {redis.two.workers} workers ({many.readers} readers, "
        f"{spread} per worker{moved}): MISS answers {many.misses:.2f} of {many.readers} "
        f"{verdict}; {many.over_one} of {many.rounds} invalidations answered more than one "
        f"MISS; answers {answers}; renders {renders}, summed over both workers' /metrics; "
        f"mean of {many.rounds} invalidations, sent by each worker in turn"
    )
    print(
        "  expected: 1 MISS (the page rendered once in the whole cluster, the other readers "
        "wait for it) and 2 renders, as above"
    )


def _split(shares: list[float]) -> str:
    return "/".join(f"{share:.0%}" for share in shares)
