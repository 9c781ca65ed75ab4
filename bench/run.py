"""The whole benchmark: seed, serve, load, measure, print one table.

    python -m bench.run [--tickets N] [--duration S]   # scripts/bench does this

Rows under wrk (requests/s, p50, p99), each app on its own uvicorn process
with the same settings: the cached ``GET /tickets`` (X-Cache: HIT); the same
route rendered on every request (bench.dynamic_app, X-Cache: MISS); the same
with only the store turned off, where single-flight still shares renders; and
a bare ASGI app sending the very same bytes (bench.bare_app). The rows' loads
are interleaved in rounds and each figure is the median of its rounds, so a
burst of noise on the shared machine cannot fall on one row only.

Then, on the cached server: renders per invalidation with 64 concurrent
readers, and a delete followed by the fresh list page. Last, in process:
``revalidate_tag`` with 1,000 and 100,000 entries in the store. Everything is
printed; nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import json
import os
import platform
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

from bench import live, revalidate, seed, wrk
from bench.server import Server, serve

PAGE_KEY = "/tickets? page"
COUNTS_KEY = "fragment:ticket-counts()"
RENDERS = "cache_renders_total"
# uvicorn adds these to every answer itself; the bare app must not send them twice.
SERVER_HEADERS = frozenset({"date", "server"})


@dataclass
class Row:
    name: str
    server: Server
    check: str  # what was verified before loading it
    has_metrics: bool = True
    slices: list[wrk.Load] = field(default_factory=list)
    renders: float = 0.0  # cache renders during the timed slices

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
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    for name, default, text in OPTIONS:
        help_text = f"{text} ({default})"
        parser.add_argument(f"--{name}", type=_positive, default=default, help=help_text)
    return parser.parse_args(argv)


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


def load_slice(row: Row, args: argparse.Namespace) -> None:
    url = row.server.url + live.LIST
    with httpx.Client(base_url=row.server.url) as client:
        before = live.counters(client, RENDERS)[RENDERS] if row.has_metrics else 0.0
        load = wrk.run(url, duration=args.duration, connections=args.connections)
        after = live.counters(client, RENDERS)[RENDERS] if row.has_metrics else 0.0
    if load.errors:
        raise RuntimeError(f"{row.name}: {load.errors} errors under load:\n{load.output}")
    row.slices.append(load)
    row.renders += after - before


def server_flavour() -> str:
    # uvicorn picks httptools/uvloop when installed, h11/asyncio otherwise.
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http}+{loop}"


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` stops its server.
    print(f"bench: stopped by signal {signum}", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    given = os.environ.get("BENCH_TMP")
    tmp = Path(given) if given else Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        return bench(args, tmp)
    finally:
        if not given:  # scripts/bench removes its own folder
            shutil.rmtree(tmp, ignore_errors=True)


def bench(args: argparse.Namespace, tmp: Path) -> int:
    started = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    database = tmp / "bench.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "CACHE_URL": "memory://"}
    ids = asyncio.run(seed.fill(env["DATABASE_URL"], args.tickets))
    print(
        f"bench: {args.tickets} tickets; per row {args.rounds} interleaved rounds of "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, medians; uvicorn {server_flavour()}, "
        f"1 worker; Python {platform.python_version()}; {os.cpu_count()} CPUs",
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

    bumps = revalidate.measure()
    report(rows, one, many, deleting, bumps, time.monotonic() - started)
    return 0


def report(
    rows: list[Row],
    one: live.Invalidation,
    many: live.Invalidation,
    deleting: live.DeleteThenList,
    bumps: list[revalidate.Revalidate],
    elapsed: float,
) -> None:
    cached, dynamic, _single_flight, bare = rows
    print()
    print(
        f"{'row':<26}{'req/s':>9}{'spread':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'renders/req':>13}  verified"
    )
    for row in rows:
        per_request = row.renders_per_request
        renders = "-" if per_request is None else f"{per_request:.2f}"
        print(
            f"{row.name:<26}{row.rps:>9,.0f}{row.spread:>8.0%}{row.p50_ms:>9.2f}"
            f"{row.p99_ms:>9.2f}{renders:>13}  {row.check}"
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
    print()
    print(
        f"renders per invalidation ({many.readers} readers): {many.renders:.2f} "
        f"(1 reader: {one.renders:.2f}); MISS answers: {many.misses:.2f} of {many.readers}; "
        f"mean of {many.rounds} invalidations"
    )
    # /metrics counts renders, not which key rendered; the two expected ones
    # follow from the tags: the legend fragment carries no "tickets" tag.
    print(f"  expected per invalidation: 2 = page {PAGE_KEY!r} + {COUNTS_KEY!r}")
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
    print(
        f"summary: cached {cached.rps:,.0f} req/s = {vs_dynamic:.1f}x dynamic, "
        f"{vs_bare:.2f}x bare, p99/p50 {tail:.2f}; "
        f"{many.renders:.2f} renders/invalidation at {many.readers} readers; "
        f"revalidate_tag 100k/1k {growth:.2f}; delete+list p50 {deleting.total_p50_ms:.1f} ms; "
        f"{elapsed:.0f}s"
    )


def _verdict(ok: bool, failure: str) -> str:
    return "ok" if ok else failure.upper()


if __name__ == "__main__":
    sys.exit(main())
