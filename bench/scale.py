"""The list at scale: what one write and one search cost at N tickets, for several N.

    scripts/bench --scale 1000,10000,100000          # python -m bench.scale 1000 10000 100000

For each N, over a fresh SQLite database seeded with N generated tickets
(app.seed), on the server scripts/run starts (one worker, pinned to CPU 0,
wrk on CPU 1), one row:

- first page: bytes of ``GET /tickets`` plain and with ``Accept-Encoding: br``;
- write -> fresh: a status change (plain form POST) then ``GET /tickets``
  until it shows the change (the first GET does: invalidation precedes the
  answer), its body decoded, p50 and p90 of the whole round; sent by a lean
  client (bench/plain.py), as a browser's network stack costs next to
  nothing, and again through httpx, whose own ~0.5 ms a request the figure
  would count as the app's (both in this run, alternating);
- search: ``GET /tickets?q=...`` of distinct realistic queries, each a MISS
  (uncached), p50 and p90;
- cached: wrk on ``GET /tickets`` (HIT), req/s, against the same at 100 tickets;
- on PostgreSQL (when ``PG_DATABASE_URL`` names a server: ``scripts/bench``
  starts one), write -> fresh again (the lean client), over a new database of
  its own seeded alike, p50 and p90, printed beside SQLite's.

Then, at the largest N: the server's resident memory before and after
``--writes`` writes (half status changes, half deletes, whose tickets' tags
are never read again), and the stamps that the memory store holds.
Everything is printed; nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.seed import seed_many
from bench import wrk
from bench.plain import Plain
from harness.app_server import AppServer
from harness.client import sign_up
from harness.processes import group_rss_bytes
from harness.servers import fresh_postgres_database

SERVER_CPU, WRK_CPU = "0", "1"
ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row status-([a-z_]+)"')
WORDS = [
    "checkout", "invoice", "login", "search", "dashboard", "export", "password", "mobile",
    "billing", "onboarding", "settings", "cafe", "creme", "shipping", "calendar", "safari",
    "android", "slow", "crash", "timeout", "german", "proxy", "gift", "zoe", "jurgen", "paulo",
]  # fmt: skip
NEXT_STATUS = {"open": "IN_PROGRESS", "in_progress": "DONE", "done": "OPEN"}


@dataclass
class Scale:
    tickets: int
    page_bytes: int
    page_br_bytes: int
    fresh_ms: list[float]  # the lean client's
    fresh_httpx_ms: list[float]
    search_ms: list[float]
    cached: wrk.Load
    postgres_fresh_ms: list[float] | None = None  # write -> fresh on PostgreSQL


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


# How a round sends a request: (method, path, form) -> (status, body as text).
Fetch = Callable[[str, str, "dict[str, str] | None"], tuple[int, str]]


def _first_rows(http: httpx.Client) -> list[tuple[str, str]]:
    return ROW.findall(http.get("/tickets").text)


def through_httpx(http: httpx.Client) -> Fetch:
    def fetch(method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        answer = http.request(method, path, data=form)
        return answer.status_code, answer.text

    return fetch


def lean(http: httpx.Client) -> Plain:
    """A lean client (bench/plain.py) of ``http``'s server, with its cookies."""
    # By the jar: a cookie set by hand beside the same one from a response
    # (the same value) is two to httpx's mapping, which refuses to choose.
    return Plain(
        str(http.base_url), {cookie.name: cookie.value or "" for cookie in http.cookies.jar}
    )


def postgres_fresh(server_url: str, tickets: int, rounds: int, log: Path) -> list[float]:
    """Write -> fresh (ms) at ``tickets`` over a new PostgreSQL database, dropped after."""

    async def over_a_new_database() -> list[float]:
        async with fresh_postgres_database(server_url) as url:
            await seed_many(url, tickets)
            return await asyncio.to_thread(served, url)

    def served(url: str) -> list[float]:
        server = AppServer(log, env={"DATABASE_URL": url}, cpus=SERVER_CPU).start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                http.cookies.set("session", sign_up(http))
                with lean(http) as client:
                    return write_then_fresh(client.fetch, rounds)
        finally:
            server.stop()

    return asyncio.run(over_a_new_database())


def measure(server: AppServer, session: str, tickets: int, rounds: int, duration: int) -> Scale:
    """``session``: the token the writes are made with (the pages read are the shared part)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        http.cookies.set("session", session)
        plain = http.get("/tickets", headers={"Accept-Encoding": "identity"})
        br = http.get("/tickets", headers={"Accept-Encoding": "br"})
        fresh: list[float] = []
        fresh_httpx: list[float] = []
        with lean(http) as client:
            for _ in range(rounds // 10):  # alternating, ten rounds each: the same load
                fresh += write_then_fresh(client.fetch, 10)
                fresh_httpx += write_then_fresh(through_httpx(http), 10)
        searches = []
        for first, second in itertools.islice(itertools.combinations(WORDS, 2), rounds):
            started = time.perf_counter()
            found = http.get("/tickets", params={"q": f"{first} {second[:4]}"})
            searches.append((time.perf_counter() - started) * 1000)
            assert found.headers["x-cache"] == "MISS"
    cached = wrk.run(server.base_url + "/tickets", duration=duration, connections=32, cpus=WRK_CPU)
    sent = [int(answer.headers["content-length"]) for answer in (plain, br)]  # as sent
    return Scale(tickets, sent[0], sent[1], fresh, fresh_httpx, searches, cached)


def write_then_fresh(fetch: Fetch, rounds: int) -> list[float]:
    """ms of each status change (a plain form POST) and the list read that shows it,
    both sent by ``fetch``."""
    fresh = []
    for n in range(rounds):
        ticket_id, status = ROW.findall(fetch("GET", "/tickets", None)[1])[n % 10]
        target = NEXT_STATUS[status]
        started = time.perf_counter()
        answered, body = fetch("POST", f"/tickets/{ticket_id}/update", {"status": target})
        assert answered == 303, body
        while (
            f'id="ticket-{ticket_id}" class="ticket-row status-{target.lower()}"'
            not in (fetch("GET", "/tickets", None)[1])
        ):
            pass  # the first GET is fresh; any other would be a stale read
        fresh.append((time.perf_counter() - started) * 1000)
    return fresh


def memory_after_writes(server: AppServer, session: str, writes: int) -> tuple[int, int, int]:
    """RSS in KiB before and after ``writes`` writes, and the stamps held after."""
    assert server.process is not None
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        http.cookies.set("session", session)
        before = group_rss_bytes(server.process.pid) // 1024  # the server and its worker
        for n in range(writes):
            rows = _first_rows(http)
            ticket_id, status = rows[n % len(rows)]
            if n % 2:
                http.post(f"/tickets/{ticket_id}/delete")
            else:
                http.post(f"/tickets/{ticket_id}/update", data={"status": NEXT_STATUS[status]})
        after = group_rss_bytes(server.process.pid) // 1024
        text = http.get("/metrics").text
    stamps = re.search(r"^cache_tag_stamps (\S+)", text, re.MULTILINE)
    return before, after, int(float(stamps[1])) if stamps else -1


def run(sizes: list[int], rounds: int, duration: int, writes: int) -> None:
    postgres = os.environ.get("PG_DATABASE_URL")
    print(
        f"scale: N = {', '.join(f'{n:,}' for n in sizes)} tickets (SQLite"
        f"{' and PostgreSQL' if postgres else ''}, memory cache); "
        f"{rounds} writes and {rounds} searches per N; wrk -c32 -d{duration}s; "
        f"server on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU}",
        flush=True,
    )
    results: list[Scale] = []
    memory: tuple[int, int, int] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in [100, *sizes]:
            url = f"sqlite+aiosqlite:///{tmp}/scale-{n}.db"
            seeded = time.perf_counter()
            asyncio.run(seed_many(url, n))
            print(f"scale: seeded {n:,} in {time.perf_counter() - seeded:.1f} s", flush=True)
            server = AppServer(
                Path(tmp) / f"scale-{n}.log", env={"DATABASE_URL": url}, cpus=SERVER_CPU
            )
            server.start()
            try:
                with httpx.Client(base_url=server.base_url, timeout=30) as http:
                    session = sign_up(http)  # the first account: the admin, who may delete
                results.append(measure(server, session, n, rounds, duration))
                if n == max(sizes) and writes:
                    memory = memory_after_writes(server, session, writes)
            finally:
                server.stop()
            if postgres:
                log = Path(tmp) / f"scale-{n}-postgres.log"
                results[-1].postgres_fresh_ms = postgres_fresh(postgres, n, rounds, log)
    base = results[0]
    print()
    print(
        f"{'tickets':>9} {'page B':>8} {'page br B':>10} {'write->fresh p50':>17} {'p90':>7}"
        f" {'httpx w->f p50':>15}"
        f" {'search p50':>11} {'p90':>7} {'cached req/s':>13} {'x 100':>6}"
        f" {'PostgreSQL w->f p50':>20} {'p90':>7}"
    )
    for row in results:
        ratio = row.cached.requests_per_s / base.cached.requests_per_s
        print(
            f"{row.tickets:>9,} {row.page_bytes:>8,} {row.page_br_bytes:>10,}"
            f" {statistics.median(row.fresh_ms):>14.2f} ms {p(row.fresh_ms, 90):>7.2f}"
            f" {statistics.median(row.fresh_httpx_ms):>12.2f} ms"
            f" {statistics.median(row.search_ms):>8.2f} ms {p(row.search_ms, 90):>7.2f}"
            f" {row.cached.requests_per_s:>13,.0f} {ratio:>6.2f}"
            f" {_p50_p90(row.postgres_fresh_ms)}"
        )
    largest = results[-1]
    print()
    on_postgres = largest.postgres_fresh_ms
    print(
        f"at {largest.tickets:,}: write->fresh p50 {statistics.median(largest.fresh_ms):.2f} ms"
        f" on SQLite (target <= 8;"
        f" {statistics.median(largest.fresh_httpx_ms):.2f} ms through httpx)"
        + (f", {statistics.median(on_postgres):.2f} ms on PostgreSQL" if on_postgres else "")
        + f"; search p50 {statistics.median(largest.search_ms):.2f} ms (target <= 20)"
    )
    if memory is not None:
        before, after, stamps = memory
        print(
            f"memory at {largest.tickets:,} tickets: RSS {before / 1024:.1f} MiB before, "
            f"{after / 1024:.1f} MiB after {writes:,} writes (half deletes); "
            f"tag stamps held: {stamps:,}"
        )


def _p50_p90(values: list[float] | None) -> str:
    if not values:
        return f"{'-':>20} {'-':>7}"
    return f"{statistics.median(values):>17.2f} ms {p(values, 90):>7.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", type=int, help="ticket counts, e.g. 1000 10000")
    parser.add_argument("--rounds", type=int, default=60, help="writes and searches per N")
    parser.add_argument("--duration", type=int, default=3, help="seconds of the wrk load")
    parser.add_argument("--writes", type=int, default=10_000, help="writes before the RSS")
    args = parser.parse_args(argv)
    run(sorted(args.sizes), args.rounds, args.duration, args.writes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
