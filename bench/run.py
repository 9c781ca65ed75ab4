"""The whole benchmark: seed, serve, load, measure, print one table.

    python -m bench.run [--tickets N] [--duration S]   # scripts/bench does this

Rows under wrk (requests/s, p50, p99), each on its own uvicorn process with
the same settings: the cached ``GET /tickets`` (X-Cache: HIT), the same route
rendered on every request (bench.dynamic_app, X-Cache: MISS), and a bare ASGI
app sending the very same bytes (bench.bare_app). Then, on the cached server:
renders per invalidation with 64 concurrent readers, and a delete followed by
the fresh list page. Last, in process: ``revalidate_tag`` with 1,000 and
100,000 entries in the store. Everything is printed; nothing is written to
the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import importlib.util
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from bench import live, revalidate, seed, wrk
from bench.server import Server, serve

PAGE_KEY = "/tickets? page"
COUNTS_KEY = "fragment:ticket-counts()"
# uvicorn adds these to every answer itself; the bare app must not send them twice.
SERVER_HEADERS = frozenset({"date", "server"})


@dataclass(frozen=True)
class Row:
    name: str
    load: wrk.Load
    renders_per_request: float | None
    check: str


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=_env_int("BENCH_TICKETS", 100),
                        help="tickets in the database (env BENCH_TICKETS, default 100)")
    parser.add_argument("--duration", type=int, default=_env_int("BENCH_DURATION", 5),
                        help="seconds of wrk load per row (env BENCH_DURATION, default 5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--readers", type=int, default=64,
                        help="concurrent readers after each invalidation (64)")
    parser.add_argument("--invalidations", type=int, default=20,
                        help="invalidations to average over (20)")
    parser.add_argument("--deletes", type=int, default=200,
                        help="delete + list iterations (200)")
    parser.add_argument("--tmp", type=Path, default=None,
                        help="scratch folder (env BENCH_TMP; default a new one under /tmp)")
    return parser.parse_args(argv)  # fmt: skip


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


def load_row(server: Server, name: str, args: argparse.Namespace, check: str) -> Row:
    url = server.url + live.LIST
    # A short untimed run first, so every row is measured on a warm process.
    wrk.run(url, duration=1, connections=args.connections)
    with httpx.Client(base_url=server.url) as client:
        before = live.counters(client, "cache_renders_total")
        load = wrk.run(url, duration=args.duration, connections=args.connections)
        after = live.counters(client, "cache_renders_total")
    if load.errors:
        raise RuntimeError(f"{name}: {load.errors} errors under load:\n{load.output}")
    renders = after["cache_renders_total"] - before["cache_renders_total"]
    return Row(name, load, renders / load.requests, check)


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


def server_flavour() -> str:
    # uvicorn picks httptools/uvloop when installed, h11/asyncio otherwise.
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http}+{loop}"


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` stops its server.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    tmp = args.tmp or Path(os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    database = tmp / "bench.db"
    for stale in tmp.glob("bench.db*"):
        stale.unlink()  # a fresh database every run
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "CACHE_URL": "memory://"}
    started = time.monotonic()

    ids = asyncio.run(seed.fill(env["DATABASE_URL"], args.tickets))
    print(
        f"bench: {args.tickets} tickets, wrk -t1 -c{args.connections} -d{args.duration}s per row, "
        f"uvicorn {server_flavour()} 1 worker, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )

    rows: list[Row] = []
    with serve("app.main:create_app", env, tmp, "cached") as cached:
        cached_response = verify_cached(cached)
        rows.append(load_row(cached, "cached GET /tickets", args, "X-Cache: HIT"))

        with serve("bench.dynamic_app:create_app", env, tmp, "dynamic") as dynamic:
            verify_dynamic(dynamic)
            rows.append(load_row(dynamic, "dynamic GET /tickets", args, "X-Cache: MISS x3"))

        bare_file = tmp / "cached-response.json"
        save_response(cached_response, bare_file)
        with serve(
            "bench.bare_app:create_app", {**env, "BENCH_BARE_RESPONSE": str(bare_file)}, tmp, "bare"
        ) as bare:
            verify_bare(bare, cached_response)
            rows.append(load_row(bare, "bare ASGI, same bytes", args, "same body+headers"))

        print("bench: load rows done; measuring invalidations", flush=True)
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
    cached, dynamic, bare = rows
    print()
    print(f"{'row':<24}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'renders/req':>13}  check")
    for row in rows:
        print(
            f"{row.name:<24}{row.load.requests_per_s:>10,.0f}{row.load.p50_ms:>9.2f}"
            f"{row.load.p99_ms:>9.2f}{row.renders_per_request:>13.2f}  {row.check}"
        )
    vs_dynamic = cached.load.requests_per_s / dynamic.load.requests_per_s
    vs_bare = cached.load.requests_per_s / bare.load.requests_per_s
    spread = cached.load.p99_ms / cached.load.p50_ms
    print()
    print(f"cached / dynamic (req/s)   {vs_dynamic:8.1f}x   {'ok' if vs_dynamic >= 20 else 'BELOW 20x'}")
    print(f"cached / bare    (req/s)   {vs_bare:8.2f}    {'ok' if vs_bare >= 0.8 else 'BELOW 0.8'}")
    print(f"cached p99 / p50           {spread:8.2f}")
    print()
    print(
        f"renders per invalidation ({many.readers} readers): {many.renders:.2f} "
        f"(page {PAGE_KEY!r} + {COUNTS_KEY!r}); 1 reader: {one.renders:.2f}; "
        f"MISS answers: {many.misses:.2f} of {many.readers}; over {many.rounds} invalidations"
    )
    small, large = bumps
    print(
        f"revalidate_tag: {small.us_per_call:.2f} us/call with {small.entries:,} entries, "
        f"{large.us_per_call:.2f} us/call with {large.entries:,}; "
        f"ratio {large.us_per_call / small.us_per_call:.2f}"
    )
    print(
        f"delete + fresh list page: p50 {deleting.total_p50_ms:.2f} ms "
        f"(delete 303 {deleting.delete_p50_ms:.2f} ms, list MISS {deleting.list_p50_ms:.2f} ms), "
        f"{deleting.iterations} iterations"
    )
    print()
    print(
        f"summary: cached {cached.load.requests_per_s:,.0f} req/s = {vs_dynamic:.1f}x dynamic, "
        f"{vs_bare:.2f}x bare; p99/p50 {spread:.2f}; {many.renders:.2f} renders per invalidation "
        f"with {many.readers} readers; revalidate_tag 100k/1k {large.us_per_call / small.us_per_call:.2f}; "
        f"delete+list p50 {deleting.total_p50_ms:.1f} ms; {elapsed:.0f}s"
    )


if __name__ == "__main__":
    sys.exit(main())
