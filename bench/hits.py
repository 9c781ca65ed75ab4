"""The cached page against the bare app, with identical and with unique requests, in one run.

    python -m bench.hits [--revision REV] [--duration S] [--rounds R] [--tickets N] [--people N]

The HIT rows of ``scripts/bench``, and nothing else, so that a change to the
HIT path can be measured in minutes: ``GET /tickets`` (X-Cache: HIT) on
scripts/run's server, asked with identical requests; with requests that
differ (a unique header each, ``bench/unique.lua``: answered from the
repeats, ``app/cache/repeats.py``, since they ask the same thing); and with
a cookie of their own each that names no session (``bench/unique_cookie.lua``:
a repeat too, since no answer depends on such a cookie); and by ``--people``
signed-in people in turn (``bench/people.lua``, ``bench/people.py``: a real
session each, more people than the repeats keep, so each request takes the
whole HIT path and gets its own holes). Next to them, the bare ASGI app
(``bench.bare_app``) sending the very same bytes, asked the same four ways.
The rows are loaded in interleaved rounds (medians), each alone on the
server CPU while the others are paused (``bench.rows``); wrk runs on the
other CPU. Each row also gets its server's CPU time per request, and that
ratio to the bare app's: on a machine shared with other work, req/s swings
with whatever else runs (spreads of 100% and more), CPU per request far
less. ``--revision``: the same cached rows of another revision too, served
at the same time (checked out in a temporary worktree, as
``bench.against`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench import people, seed, verify, wrk
from bench.against import checkout
from bench.rows import Load, Row, load_rounds
from harness.app_server import AppServer

SERVER_CPU, WRK_CPU = "0", "1"
BARE_APP = "bench.bare_app:create_app"


# What Chromium asks with every request: a person's answer, compressed for them.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def rows_of(
    name: str,
    server: AppServer,
    check: str,
    *,
    metrics: bool = True,
    compressed: AppServer | None = None,
) -> list[Row]:
    """The same URL asked with identical requests, with unique ones (a header
    of their own), with a cookie of their own each, and by many people in turn,
    uncompressed, then as a browser asks (``compressed``: the server for that
    row, when not ``server``)."""
    return [
        Row(f"{name}, identical", server, check, wrk_cpus=WRK_CPU, has_metrics=metrics),
        Row(f"{name}, unique", server, check, unique=True, wrk_cpus=WRK_CPU, has_metrics=metrics),
        Row(
            f"{name}, unique cookie", server, check, script=wrk.UNIQUE_COOKIE,
            wrk_cpus=WRK_CPU, has_metrics=metrics,
        ),
        Row(
            f"{name}, people in turn", server, check, script=people.SCRIPT,
            wrk_cpus=WRK_CPU, has_metrics=metrics,
        ),
        Row(
            f"{name}, people in turn (browser)", compressed or server, check,
            headers=BROWSER, script=people.SCRIPT, wrk_cpus=WRK_CPU, has_metrics=metrics,
        ),
    ]  # fmt: skip


def run(tickets: int, duration: int, rounds: int, revision: str | None, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        tmp = Path(folder)
        database = tmp / "bench.db"
        env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "CACHE_URL": "memory://"}
        asyncio.run(seed.fill(env["DATABASE_URL"], tickets))
        cookies = asyncio.run(people.sign_in(env["DATABASE_URL"], count))
        people.save(cookies, tmp / "cookies")
        servers: list[AppServer] = []

        def start(name: str, env: dict[str, str], **options: object) -> AppServer:
            server = AppServer(tmp / f"{name}.log", env=env, cpus=SERVER_CPU, **options)  # type: ignore[arg-type]
            servers.append(server)
            stack.callback(server.stop)
            return server.start()

        ours = start("ours", env)
        reference = verify.cached(ours)
        people.check(ours.base_url + verify.LIST, cookies)
        people.check(ours.base_url + verify.LIST, cookies, BROWSER)

        def bare_sending(name: str, response: httpx.Response, sent: bytes | None) -> AppServer:
            answer = tmp / f"{name}.json"
            verify.save_response(response, answer, sent)
            env_bare = {**env, "BENCH_BARE_RESPONSE": str(answer)}
            return start(name, env_bare, app=BARE_APP, ready="/")

        bare = bare_sending("bare", reference, None)
        verify.same_bytes(verify.fetch(bare.base_url + verify.LIST), reference, "bare")
        # The browser row's floor sends the anonymous page as compressed for a browser.
        verify.cached(ours, BROWSER)
        bare_compressed = bare_sending(
            "bare-compressed", *verify.as_sent(ours.base_url + verify.LIST, BROWSER)
        )
        rows = [
            *rows_of("cached, this checkout", ours, "X-Cache: HIT"),
            *rows_of(
                "bare ASGI", bare, "same body+headers", metrics=False, compressed=bare_compressed
            ),
        ]
        if revision is not None:
            other = stack.enter_context(checkout(revision, tmp / "other"))
            theirs = start("theirs", env, root=other)
            verify.same_bytes(verify.cached(theirs), reference, revision)
            people.check(theirs.base_url + verify.LIST, cookies)
            rows += rows_of(f"cached, {revision}", theirs, "X-Cache: HIT")
        print(
            f"hits: {tickets} tickets, {count} people; {rounds} interleaved rounds of wrk -t1 -c32"
            f" -d{duration}s per row (medians); servers on CPU {SERVER_CPU}, wrk on CPU {WRK_CPU}",
            flush=True,
        )
        load_rounds(rows, Load(duration, 32), rounds)
    by_name = {row.name: row for row in rows}
    print(
        f"{'row':<44}{'req/s':>9}{'spread':>8}{'p50 ms':>8}{'p99 ms':>8}{'/ bare':>8}"
        f"{'CPU us':>8}{'/ bare':>8}"
    )
    for row in rows:
        floor = by_name[f"bare ASGI, {row.name.rsplit(', ', 1)[1]}"]
        print(
            f"{row.name:<44}{row.rps:>9,.0f}{row.spread:>8.0%}{row.p50_ms:>8.2f}"
            f"{row.p99_ms:>8.2f}{row.rps / floor.rps:>8.2f}"
            f"{cpu_us(row):>8.1f}{cpu_us(floor) / cpu_us(row):>8.2f}"
        )


def cpu_us(row: Row) -> float:
    """The server's CPU time per request under load, in microseconds: on a
    machine shared with other work, steadier than req/s (which counts the
    time the server waited for a CPU too). Its ``/ bare`` is the bare app's
    over this, the req/s ratio the two would reach each alone on a core."""
    return 1e6 * row.cpu / sum(s.requests for s in row.slices)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--duration", type=int, default=5, help="seconds of one wrk load")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--revision", help="another revision's cached rows too, e.g. main")
    parser.add_argument("--people", type=int, default=people.COUNT, help="signed in, in turn")
    args = parser.parse_args(argv)
    run(args.tickets, args.duration, args.rounds, args.revision, args.people)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
