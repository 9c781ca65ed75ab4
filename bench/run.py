"""The whole benchmark: seed, serve, load, measure, print one table.

    python -m bench.run [--tickets N] [--duration S] [--no-redis]   # scripts/bench does this

Rows under wrk (requests/s, p50, p99), each app on its own uvicorn server
with the same settings: the cached ``GET /tickets`` (X-Cache: HIT); the same
route rendered on every request (bench.dynamic_app, X-Cache: MISS); the same
with only the store turned off, where single-flight still shares renders; a
bare ASGI app sending the very same bytes (bench.bare_app); and, unless
``--no-redis``, the cached route again with the Redis store (``CACHE_URL`` on
the ``REDIS_URL`` that scripts/bench starts), with one worker and with two
(``--workers 2``, through bench.nodelay: stock uvicorn leaves TCP_NODELAY off
with several workers, which one short extra load shows). Every server of a
cached row answers the same bytes from the same SQLite data. The rows' loads
are interleaved in rounds and each figure is the median of its rounds, so a
burst of noise on the shared machine cannot fall on one row only.

Then, on the cached (memory) server: renders per invalidation with 64
concurrent readers, and a delete followed by the fresh list page; on the
two-worker Redis server: the same renders per invalidation, with the readers
pinned half to each worker, counted from their X-Cache answers (one MISS per
invalidation in the whole cluster) and from both workers' /metrics. Last, in
process: ``revalidate_tag`` with 1,000 and 100,000 entries in the store.
Everything is printed; nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
import redis

from bench import live, revalidate, seed, wrk
from bench.server import Server, serve

PAGE_KEY = "/tickets? page"
COUNTS_KEY = "fragment:ticket-counts()"
RENDERS = live.RENDERS
HITS = live.HITS
# uvicorn adds these to every answer itself; the bare app must not send them twice.
SERVER_HEADERS = frozenset({"date", "server"})
REDIS_WORKERS = 2
STOCK_SECONDS = 2  # the one load of stock uvicorn --workers 2


@dataclass
class Row:
    name: str
    server: Server
    check: str  # what was verified before loading it
    has_metrics: bool = True
    slices: list[wrk.Load] = field(default_factory=list)
    redis_url: str | None = None  # the Redis whose CPU time to count, for the Redis rows
    renders: float = 0.0  # cache renders during the timed slices, all workers
    hits: dict[str, float] = field(default_factory=dict)  # worker -> HITs during the slices
    splits: list[list[float]] = field(default_factory=list)  # each slice's worker_shares
    seconds: float = 0.0  # wall time of the timed slices
    cpu: float = 0.0  # CPU seconds of the server's processes during them
    redis_cpu: float = 0.0  # CPU seconds of redis-server during them

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
        return _shares(self.hits)


def _shares(hits: dict[str, float]) -> list[float]:
    total = sum(hits.values())
    return sorted((n / total for n in hits.values()), reverse=True) if total else []


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# option, default, help; --tickets and --duration also read the environment.
OPTIONS: tuple[tuple[str, int, str], ...] = (
    ("tickets", _env_int("BENCH_TICKETS", 100), "tickets in the database (BENCH_TICKETS)"),
    ("duration", _env_int("BENCH_DURATION", 5), "seconds of one wrk load (BENCH_DURATION)"),
    ("rounds", 3, "interleaved loads per row; figures are their median"),
    ("connections", 32, "wrk connections"),
    ("readers", 64, "concurrent readers after each invalidation"),
    ("invalidations", 20, "invalidations to average over"),
    ("deletes", 200, "delete + list iterations"),
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=__doc__.split("\n\n")[0],
        # scripts/bench looks for --no-redis itself: no abbreviations to miss.
        allow_abbrev=False,
    )
    for name, default, text in OPTIONS:
        help_text = f"{text} ({default})"
        parser.add_argument(f"--{name}", type=_positive, default=default, help=help_text)
    parser.add_argument(
        "--no-redis",
        dest="redis",
        action="store_false",
        help="skip the Redis rows (and scripts/bench starts no Redis or PostgreSQL)",
    )
    args = parser.parse_args(argv)
    if args.redis and args.readers < REDIS_WORKERS:
        parser.error(f"--readers must be at least {REDIS_WORKERS} for the Redis rows")
    return args


def fetch(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=30.0)
    response.raise_for_status()
    return response


def comparable_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in response.headers.raw
        if name.decode("latin-1").lower() not in SERVER_HEADERS
    ]


def verify_cached(server: Server) -> httpx.Response:
    fetch(server.url + live.LIST)  # the one warm request
    response = fetch(server.url + live.LIST)
    if response.headers.get("x-cache") != "HIT":
        raise RuntimeError(f"cached GET /tickets: X-Cache {response.headers.get('x-cache')}")
    return response


def verify_same_hit(server: Server, cached: httpx.Response) -> str:
    """A HIT from every worker of ``server``, with the memory row's bytes."""
    fetch(server.url + live.LIST)  # the one warm request, on whichever worker
    answers = live.from_each_worker(server.url, live.LIST, workers=server.workers)
    for response in answers:
        response.raise_for_status()
        if response.headers.get("x-cache") != "HIT":
            raise RuntimeError(
                f"{server.name} GET /tickets: X-Cache {response.headers.get('x-cache')}"
            )
        if response.content != cached.content:
            raise RuntimeError(f"{server.name}: body differs from the memory store's")
        if comparable_headers(response) != comparable_headers(cached):
            raise RuntimeError(
                f"{server.name}: headers differ from the memory store's:\n"
                f"{comparable_headers(response)}\n{comparable_headers(cached)}"
            )
    where = "HIT" if server.workers == 1 else f"HIT from each of {server.workers} workers"
    return f"{where}, same bytes"


def verify_dynamic(server: Server) -> None:
    seen = [fetch(server.url + live.LIST).headers.get("x-cache") for _ in range(3)]
    if seen != ["MISS"] * 3:
        raise RuntimeError(f"dynamic GET /tickets: X-Cache {seen}, expected MISS each time")


def verify_bare(server: Server, cached: httpx.Response) -> None:
    response = fetch(server.url + live.LIST)
    if response.content != cached.content:
        raise RuntimeError("bare app body differs from the cached response")
    if comparable_headers(response) != comparable_headers(cached):
        raise RuntimeError(
            f"bare app headers differ:\n{comparable_headers(response)}\n"
            f"{comparable_headers(cached)}"
        )


def save_response(response: httpx.Response, path: Path) -> None:
    spec = {
        "status": response.status_code,
        "headers": comparable_headers(response),
        "body": base64.b64encode(response.content).decode(),
    }
    path.write_text(json.dumps(spec))


def _counters(row: Row) -> dict[str, dict[str, float]]:
    if not row.has_metrics:
        return {}
    return live.scrape(row.server.url, RENDERS, HITS, workers=row.workers)


def redis_cpu_seconds(url: str) -> float:
    with redis.Redis.from_url(url) as client:
        info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def load_slice(row: Row, args: argparse.Namespace) -> None:
    before = _counters(row)
    redis_before = redis_cpu_seconds(row.redis_url) if row.redis_url else 0.0
    cpu_before = row.server.cpu_seconds()
    start = time.monotonic()
    load = wrk.run(row.server.url + live.LIST, duration=args.duration, connections=args.connections)
    row.seconds += time.monotonic() - start
    row.cpu += row.server.cpu_seconds() - cpu_before
    if row.redis_url:
        row.redis_cpu += redis_cpu_seconds(row.redis_url) - redis_before
    after = _counters(row)
    if load.errors:
        raise RuntimeError(f"{row.name}: {load.errors} errors under load:\n{load.output}")
    if after.keys() != before.keys():
        raise RuntimeError(f"{row.name}: the workers changed under load (one restarted?)")
    row.slices.append(load)
    hits: dict[str, float] = {}
    for worker, values in after.items():
        row.renders += values[RENDERS] - before[worker][RENDERS]
        hits[worker] = values[HITS] - before[worker][HITS]
        row.hits[worker] = row.hits.get(worker, 0.0) + hits[worker]
    row.splits.append(_shares(hits))


def server_flavour() -> str:
    # uvicorn picks httptools/uvloop when installed, h11/asyncio otherwise.
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http}+{loop}"


def redis_url(base: str, prefix: str) -> str:
    """``base`` with the store's key prefix set: each server keeps entries of its own."""
    return f"{base}{'&' if '?' in base else '?'}prefix={prefix}"


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` stops its server.
    print(f"bench: stopped by signal {signum}", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.redis and not os.environ.get("REDIS_URL"):
        print(
            "bench: the Redis rows need REDIS_URL (scripts/bench starts a Redis and sets it); "
            "or pass --no-redis",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _stop_on_signal)
    given = os.environ.get("BENCH_TMP")
    tmp = Path(given) if given else Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        return bench(args, tmp)
    finally:
        if not given:  # scripts/bench removes its own folder
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Redis:
    """What the Redis store's rows measured."""

    one: Row
    two: Row
    many: live.Invalidation  # on the two-worker server
    stock: wrk.Load  # stock uvicorn --workers 2, one short load
    url: str
    page_bytes: int


def bench(args: argparse.Namespace, tmp: Path) -> int:
    started = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    database = tmp / "bench.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "CACHE_URL": "memory://"}
    ids = asyncio.run(seed.fill(env["DATABASE_URL"], args.tickets))
    print(
        f"bench: {args.tickets} tickets; per row {args.rounds} interleaved rounds of "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, medians; uvicorn {server_flavour()}, "
        f"1 worker unless the row says otherwise; Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )

    with ExitStack() as servers:
        cached = servers.enter_context(serve("app.main:create_app", env, tmp, "cached"))
        cached_response = verify_cached(cached)
        bare_file = tmp / "cached-response.json"
        save_response(cached_response, bare_file)
        rows = [Row("cached GET /tickets", cached, "X-Cache: HIT")]
        for factory, name, label in (
            ("bench.dynamic_app:create_app", "dynamic", "dynamic GET /tickets"),
            ("bench.dynamic_app:create_app_store_off", "store-off", "store off, single-flight"),
        ):
            server = servers.enter_context(serve(factory, env, tmp, name))
            verify_dynamic(server)
            rows.append(Row(label, server, "X-Cache: MISS x3"))
        bare_env = {**env, "BENCH_BARE_RESPONSE": str(bare_file)}
        bare = servers.enter_context(serve("bench.bare_app:create_app", bare_env, tmp, "bare"))
        verify_bare(bare, cached_response)
        rows.append(Row("bare ASGI, same bytes", bare, "same body+headers", has_metrics=False))

        redis_rows: list[Row] = []
        if args.redis:
            # A copy of the seeded data, so the memory server's writes below
            # and the Redis servers' never meet; each server its own key prefix.
            redis_db = tmp / "redis.db"
            shutil.copyfile(database, redis_db)
            run_id = secrets.token_hex(4)
            for workers in (1, REDIS_WORKERS):
                label = f"redis store, {workers} worker{'s' if workers > 1 else ''}"
                name = f"redis-{workers}w"
                redis_env = {
                    "DATABASE_URL": f"sqlite+aiosqlite:///{redis_db}",
                    "CACHE_URL": redis_url(os.environ["REDIS_URL"], f"bench-{run_id}-{name}"),
                }
                server = servers.enter_context(
                    serve("app.main:create_app", redis_env, tmp, name, workers=workers)
                )
                check = verify_same_hit(server, cached_response)
                redis_rows.append(Row(label, server, check, redis_url=os.environ["REDIS_URL"]))
            rows += redis_rows

        for row in rows:  # a short untimed load, so every row is measured warm
            wrk.run(row.server.url + live.LIST, duration=1, connections=args.connections)
        for _ in range(args.rounds):
            for row in rows:
                load_slice(row, args)

        print("bench: load done; measuring invalidations and deletes", flush=True)
        one = live.renders_per_invalidation(
            cached.url, ids[0], readers=1, rounds=args.invalidations
        )
        many = live.renders_per_invalidation(
            cached.url, ids[0], readers=args.readers, rounds=args.invalidations
        )
        deleting = live.delete_then_list(cached.url, iterations=args.deletes)

        redis: Redis | None = None
        if redis_rows:
            one_worker, two_workers = redis_rows
            cluster = live.renders_per_invalidation(
                two_workers.server.url,
                ids[0],
                readers=args.readers,
                rounds=args.invalidations,
                workers=two_workers.workers,
            )
            stock = measure_stock(two_workers.server, args, cached_response)
            redis = Redis(
                one_worker,
                two_workers,
                cluster,
                stock,
                os.environ["REDIS_URL"],
                len(cached_response.content),
            )
        for row in rows:  # all at once; leaving the block waits for each
            row.server.terminate()

    bumps = revalidate.measure()
    report(rows, one, many, deleting, bumps, redis, time.monotonic() - started)
    return 0


def measure_stock(model: Server, args: argparse.Namespace, cached: httpx.Response) -> wrk.Load:
    """One short load of the two-worker Redis server under stock ``uvicorn --workers``."""
    env = {**model.env, "CACHE_URL": model.env["CACHE_URL"] + "-stock"}
    tmp = model.log.parent
    with serve(model.factory, env, tmp, "redis-stock", workers=model.workers, stock=True) as server:
        verify_same_hit(server, cached)
        load = wrk.run(server.url + live.LIST, duration=STOCK_SECONDS, connections=args.connections)
    if load.errors:
        raise RuntimeError(f"stock uvicorn --workers: {load.errors} errors:\n{load.output}")
    return load


def report(
    rows: list[Row],
    one: live.Invalidation,
    many: live.Invalidation,
    deleting: live.DeleteThenList,
    bumps: list[revalidate.Revalidate],
    redis: Redis | None,
    elapsed: float,
) -> None:
    cached, dynamic, _single_flight, bare = rows[:4]
    print()
    print(
        f"{'row':<26}{'req/s':>9}{'spread':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPUs':>6}"
        f"{'renders/req':>13}  verified"
    )
    for row in rows:
        per_request = row.renders_per_request
        renders = "-" if per_request is None else f"{per_request:.2f}"
        print(
            f"{row.name:<26}{row.rps:>9,.0f}{row.spread:>8.0%}{row.p50_ms:>9.2f}"
            f"{row.p99_ms:>9.2f}{row.cpus:>6.2f}{renders:>13}  {row.check}"
        )
    print(
        "  CPUs: CPU time of the server's processes (workers included) per second under load; "
        "renders/req: summed over every worker's /metrics"
    )
    vs_dynamic = cached.rps / dynamic.rps
    vs_bare = cached.rps / bare.rps
    tail = cached.p99_ms / cached.p50_ms
    small, large = bumps
    growth = large.us_per_call / small.us_per_call
    print()
    print(f"cached / dynamic  req/s  {vs_dynamic:8.1f}x  {_verdict(vs_dynamic >= 20, 'below 20x')}")
    print(f"cached / bare     req/s  {vs_bare:8.2f}   {_verdict(vs_bare >= 0.8, 'below 0.8')}")
    print(f"cached p99 / p50         {tail:8.2f}")
    if redis is not None:
        report_redis_ratios(cached, redis)
    print()
    print(
        f"renders per invalidation ({many.readers} readers): {_renders(many)} "
        f"(1 reader: {_renders(one)}); MISS answers: {many.misses:.2f} of {many.readers}; "
        f"mean of {many.rounds} invalidations"
    )
    # /metrics counts renders, not which key rendered; the two expected ones
    # follow from the tags: the legend fragment carries no "tickets" tag.
    print(f"  expected per invalidation: 2 = page {PAGE_KEY!r} + {COUNTS_KEY!r}")
    if redis is not None:
        report_redis_invalidation(redis)
    print(
        f"revalidate_tag: {small.us_per_call:.2f} us/call with {small.entries:,} entries, "
        f"{large.us_per_call:.2f} us/call with {large.entries:,} entries; ratio {growth:.2f}"
    )
    print(
        f"delete + fresh list page: p50 {deleting.total_p50_ms:.2f} ms "
        f"(POST delete 303: {deleting.delete_p50_ms:.2f} ms, GET list MISS: "
        f"{deleting.list_p50_ms:.2f} ms); {deleting.iterations} iterations"
    )
    print()
    summary = (
        f"summary: cached {cached.rps:,.0f} req/s = {vs_dynamic:.1f}x dynamic, "
        f"{vs_bare:.2f}x bare, p99/p50 {tail:.2f}; "
        f"{_renders(many)} renders/invalidation at {many.readers} readers; "
    )
    if redis is not None:
        summary += (
            f"redis 1w {redis.one.rps:,.0f} req/s = {redis.one.rps / cached.rps:.2f}x memory, "
            f"2w {redis.two.rps / redis.one.rps:.2f}x 1w, "
            f"{redis.many.misses:.2f} MISS/invalidation over {redis.two.workers} workers; "
        )
    summary += (
        f"revalidate_tag 100k/1k {growth:.2f}; delete+list p50 {deleting.total_p50_ms:.1f} ms; "
        f"{elapsed:.0f}s"
    )
    print(summary)


def report_redis_ratios(memory: Row, redis: Redis) -> None:
    one, two, stock = redis.one, redis.two, redis.stock
    rounds = ", ".join(_split(split) for split in two.splits)
    print(f"redis 1w / memory req/s  {one.rps / memory.rps:8.2f}")
    print(f"redis 2w / 1w     req/s  {two.rps / one.rps:8.2f}")
    print(
        f"  redis rows: CACHE_URL={redis.url} (a key prefix per server), the same SQLite data; "
        f"redis-server CPUs under load: 1w {one.redis_cpu / one.seconds:.2f}, "
        f"2w {two.redis_cpu / two.seconds:.2f}; {os.cpu_count()} CPUs on this machine for wrk, "
        f"redis-server and the workers"
    )
    print(
        f"  2w: HITs served per worker under load {_split(two.worker_shares())}, by round "
        f"{rounds} (each worker's cache_hits_total; the kernel hands each of wrk's "
        f"connections, opened at once, to whichever worker accepts first)"
    )
    print(
        f"  stock uvicorn --workers {two.workers}: {stock.requests_per_s:,.0f} req/s, p50 "
        f"{stock.p50_ms:.2f} ms (one {STOCK_SECONDS}s load), {stock.requests_per_s / two.rps:.2f}x "
        f"the 2w row, which runs through bench.nodelay: stock leaves TCP_NODELAY off with "
        f"workers (uvicorn #3149), which costs ~40 ms per keep-alive request when an answer "
        f"fits in one segment (this page: {redis.page_bytes / 1024:.0f} KB)"
    )


def report_redis_invalidation(redis: Redis) -> None:
    many = redis.many
    answers = ", ".join(f"{name} {count:.2f}" for name, count in many.answers.items())
    spread = " + ".join(str(n) for n in many.per_worker)
    moved = "" if not many.moved else f"; {many.moved} connections moved worker meanwhile"
    print(
        f"renders per invalidation, redis, {redis.two.workers} workers ({many.readers} readers, "
        f"{spread} per worker{moved}): MISS answers {many.misses:.2f} of {many.readers} "
        f"{_verdict(many.misses == 1, 'expected 1')}; {many.over_one} of {many.rounds} "
        f"invalidations answered more than one MISS; answers {answers}; renders "
        f"{_renders(many)}, summed over both workers' /metrics; mean of {many.rounds} "
        f"invalidations, sent by each worker in turn"
    )
    print(
        "  expected: 1 MISS (the page rendered once in the whole cluster, the other readers "
        "wait for it) and 2 renders, as above"
    )


def _renders(measured: live.Invalidation) -> str:
    return "unknown (a worker restarted)" if measured.renders is None else f"{measured.renders:.2f}"


def _split(shares: list[float]) -> str:
    return "/".join(f"{share:.0%}" for share in shares)


def _verdict(ok: bool, failure: str) -> str:
    return "ok" if ok else failure.upper()


if __name__ == "__main__":
    sys.exit(main())
