"""The whole benchmark: seed, serve, load, measure, print one table.

    python -m bench.run [--tickets N] [--duration S] [--no-redis] [--no-pin]   # via scripts/bench

Rows under wrk (requests/s, p50, p99), loaded in interleaved rounds (medians):
the cached ``GET /tickets`` (X-Cache: HIT) on each candidate server
(app.serve.SERVERS: scripts/run's and the others installed), and a small
cached answer (``GET /fragments/counts``) on the two fastest, next to a bare
ASGI app sending the very same bytes (bench.bare_app, the ceiling for Python
here) on uvicorn httptools+uvloop and on scripts/run's server. Then, on scripts/run's server:
the same page asked with ``Accept-Encoding: gzip, br``, and by a signed-in
person (holes filled); the page rendered on
every request (bench.dynamic_app) and with only the store off; unless
``--no-redis``, the Redis store with one worker and with two
(bench.redis_rows). Single-worker servers are pinned to CPU 0 and wrk to CPU 1.

Then: 2 workers and a small answer, for Nagle's delay (bench.nagle); renders
per invalidation with 64 concurrent readers, and a delete followed by the
fresh list page (bench.live); unless ``--no-edge``, the page through the edge
cache next to nginx serving its bytes as a static file, and a write then the
fresh page through the edge, and (with Redis) renders per invalidation with
4 workers behind the edge (bench.edge); in process, ``revalidate_tag`` with
1,000 and 100,000 entries (bench.revalidate). Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from app.serve import APP, SERVER, SERVERS
from bench import (
    against,
    edge,
    list_against,
    live,
    nagle,
    people,
    redis_rows,
    revalidate,
    scale,
    seed,
    teams,
    verify,
    wrk,
)
from bench.report import Results, report
from bench.rows import Load, Row, load_rounds
from harness.app_server import AppServer

COMPRESSED = {"Accept-Encoding": "gzip, br"}
# A small cached answer too, on the servers within reach of the bare app: the
# page is 100+ KB uncompressed, a fragment (or a compressed page) is not.
SMALL_PATH = "/fragments/counts"
SMALL_SERVERS = ("granian", "uvicorn")
BARE_APP = "bench.bare_app:create_app"
SERVER_CPU, WRK_CPU = "0", "1"
EDGE_WORKERS = 4  # behind the edge, for renders per invalidation (with --redis)


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
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="pin neither servers nor wrk"
    )
    parser.add_argument(
        "--no-edge", dest="edge", action="store_false", help="skip the edge and nginx rows"
    )
    parser.add_argument(
        "--scale",
        metavar="N,N,...",
        help="instead: the list at scale for each N tickets (bench.scale), e.g. 1000,10000",
    )
    parser.add_argument(
        "--against",
        metavar="REVISION",
        help="with --scale N: write -> fresh at N tickets next to REVISION's (bench.against);"
        " with --teams N: the cached list's req/s next to REVISION's (bench.list_against)",
    )
    parser.add_argument(
        "--teams",
        metavar="N",
        help="instead: write -> fresh of a comment, an assignment and a rename at N tickets"
        " with 3N comments, next to a status change (bench.teams)",
    )
    args = parser.parse_args(argv)
    if args.redis and args.readers < redis_rows.WORKERS:
        parser.error(f"--readers must be at least {redis_rows.WORKERS} for the Redis rows")
    return args


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` stops its server.
    print(f"bench: stopped by signal {signum}", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.teams and args.against:
        tickets = str(_positive(args.teams))
        return list_against.main([args.against, tickets, "--duration", str(args.duration)])
    if args.teams:
        return teams.main([str(_positive(args.teams)), "--duration", str(args.duration)])
    if args.scale and args.against:
        return against.main([args.against, str(max(map(_positive, args.scale.split(","))))])
    if args.scale:
        sizes = [str(_positive(size)) for size in args.scale.split(",")]
        return scale.main([*sizes, "--duration", str(args.duration)])
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


def candidates() -> tuple[list[str], list[str]]:
    """The servers to compare (scripts/run's first), and those not installed."""
    names = [SERVER, *(name for name in SERVERS if name != SERVER)]
    installed = [name for name in names if importlib.util.find_spec(SERVERS[name].module)]
    return installed, [SERVERS[name].label for name in names if name not in installed]


def bench(args: argparse.Namespace, tmp: Path) -> int:
    started = time.monotonic()
    tmp.mkdir(parents=True, exist_ok=True)
    database = tmp / "bench.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "CACHE_URL": "memory://"}
    ids = asyncio.run(seed.fill(env["DATABASE_URL"], args.tickets))
    names, skipped = candidates()
    cpus, wrk_cpus = (SERVER_CPU, WRK_CPU) if args.pin else (None, None)
    print(
        f"bench: {args.tickets} tickets; per row {args.rounds} interleaved rounds of "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, medians; servers: "
        f"{', '.join(SERVERS[name].label for name in names)}; scripts/run starts "
        f"{SERVERS[SERVER].label}; one worker unless the row says otherwise; "
        f"{'servers on CPU 0, wrk on CPU 1' if args.pin else 'nothing pinned'}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs",
        flush=True,
    )
    servers: list[AppServer] = []

    def start(
        name: str,
        env: dict[str, str],
        *,
        app: str = APP,
        server: str = SERVER,
        ready: str = "/metrics",
    ) -> AppServer:
        log, pidfile = tmp / f"{name}.log", tmp / f"{name}.pid"
        started = AppServer(
            log, app=app, server=server, env=env, cpus=cpus, pidfile=pidfile, ready=ready
        )
        servers.append(started)  # stopped on the way out, even if it fails to start
        return started.start()

    with ExitStack() as stack:
        stack.callback(_stop_all, servers)
        rows: list[Row] = []
        for name in names:
            server = start(name, env, server=name)
            response = verify.cached(server)
            if name == SERVER:
                reference = response
                check = "X-Cache: HIT"
            else:
                verify.same_bytes(response, reference, name)
                check = "HIT, same bytes"
            rows.append(Row(SERVERS[name].label, server, check, wrk_cpus=wrk_cpus))
        chosen = rows[0]
        small = []
        for row in rows:
            if row.server.server in SMALL_SERVERS:
                answer = verify.sent(row.server.base_url + SMALL_PATH)
                small.append(
                    Row(f"{row.name}, {SMALL_PATH}", row.server, f"X-Cache: {answer.x_cache}",
                        path=SMALL_PATH, wrk_cpus=wrk_cpus, size=answer.size)
                )  # fmt: skip
        bare_file = tmp / "cached-response.json"
        verify.save_response(reference, bare_file)
        bare_env = {**env, "BENCH_BARE_RESPONSE": str(bare_file)}
        bares = []  # the ceiling: on uvicorn httptools+uvloop, and on scripts/run's server
        for name in dict.fromkeys(("uvicorn", SERVER)):
            server = start(f"bare-{name}", bare_env, app=BARE_APP, server=name, ready="/")
            verify.same_bytes(verify.fetch(server.base_url + verify.LIST), reference, "bare")
            bares.append(Row(f"bare ASGI, {SERVERS[name].label}", server, "same body+headers",
                             wrk_cpus=wrk_cpus, has_metrics=False))  # fmt: skip

        sent = verify.sent(chosen.url, COMPRESSED)
        compressed = Row(
            "cached, Accept-Encoding: gzip, br", chosen.server, f"X-Cache: {sent.x_cache}",
            headers=COMPRESSED, wrk_cpus=wrk_cpus, size=sent.size, encoding=sent.encoding,
        )  # fmt: skip
        # A signed-in person: the same shared entry, its holes filled for them.
        session, reader = verify.accounts(chosen.server)  # the admin writes below
        # After the admin (the first account): many people, straight into the database.
        readers = asyncio.run(people.sign_in(env["DATABASE_URL"]))
        people.save(readers, tmp / "people-cookies")
        cookie = {"Cookie": f"session={reader}"}
        signed = Row(
            "signed in, cached GET /tickets", chosen.server, "HIT, holes filled",
            headers=cookie, wrk_cpus=wrk_cpus,
        )  # fmt: skip
        sent = verify.sent(chosen.url, {**cookie, **COMPRESSED})
        signed_compressed = Row(
            "signed in, Accept-Encoding: gzip, br", chosen.server, f"X-Cache: {sent.x_cache}",
            headers={**cookie, **COMPRESSED}, wrk_cpus=wrk_cpus, size=sent.size,
            encoding=sent.encoding,
        )  # fmt: skip
        # Each request unlike the last (a header of its own): answered from the
        # repeats all the same, since the answer does not depend on that header.
        unrepeated = Row(
            "cached, no request repeated", chosen.server, "X-Cache: HIT", unique=True,
            wrk_cpus=wrk_cpus,
        )  # fmt: skip
        # Each with a cookie of its own that names no one: a repeat too, since
        # only the session cookie and the read-after clock's count (Holes.cookies).
        own_cookie = Row(
            "cached, a cookie of its own each", chosen.server, "X-Cache: HIT",
            script=wrk.UNIQUE_COOKIE, wrk_cpus=wrk_cpus,
        )  # fmt: skip
        # Many people in turn, each with a session of their own: the whole HIT
        # path, holes filled for each (bench/people.py).
        people.check(chosen.url, readers)
        in_turn = Row(
            f"signed in, {len(readers):,} people in turn", chosen.server, "HIT, holes filled",
            script=people.SCRIPT, wrk_cpus=wrk_cpus,
        )  # fmt: skip
        bare_unique = Row(
            f"{bares[0].name}, no request repeated", bares[0].server, "same body+headers",
            unique=True, wrk_cpus=wrk_cpus, has_metrics=False,
        )  # fmt: skip

        def rendered_each_time(factory: str, name: str, label: str) -> Row:
            server = start(name, env, app=f"bench.dynamic_app:{factory}")
            verify.dynamic(server)
            return Row(label, server, "X-Cache: MISS x3", wrk_cpus=wrk_cpus)

        dynamic = rendered_each_time("create_app", "dynamic", "dynamic GET /tickets")
        store_off = rendered_each_time(
            "create_app_store_off", "store-off", "store off, single-flight"
        )
        app_rows = [
            compressed, signed, signed_compressed, unrepeated, own_cookie, in_turn, dynamic,
            store_off,
        ]  # fmt: skip
        redis = None
        if args.redis:
            redis = redis_rows.start(database, tmp, reference, servers, cpus=cpus)
            app_rows += [redis.one, redis.two, redis.near]
        every = [*rows, *small, *bares, bare_unique, *app_rows]
        for row in every:
            if not row.size:
                row.size = verify.sent(row.url).size

        load_rounds(every, Load(args.duration, args.connections), args.rounds)

        print("bench: load done; measuring workers, invalidations and deletes", flush=True)
        for server in servers:  # only the chosen one is needed from here on
            if server is not chosen.server and (redis is None or server is not redis.two.server):
                server.terminate()
        workers = nagle.measure(env, tmp, args.connections, chosen.server.base_url)
        one = live.renders_per_invalidation(
            chosen.server.base_url, ids[0], session=session, readers=1, rounds=args.invalidations
        )
        many = live.renders_per_invalidation(
            chosen.server.base_url,
            ids[0],
            session=session,
            readers=args.readers,
            rounds=args.invalidations,
        )
        deleting = live.delete_then_list(
            chosen.server.base_url, session=session, iterations=args.deletes
        )
        if redis is not None:
            redis.many = live.renders_per_invalidation(
                redis.two.server.base_url,
                ids[0],
                session=verify.signed_up(redis.two.server),  # a database of its own
                readers=args.readers,
                rounds=args.invalidations,
                workers=redis.two.workers,
            )

    edge_figures, edge_failed = None, False
    if args.edge:
        print("bench: the edge and nginx", flush=True)
        try:
            edge_figures = edge.measure(
                env, tmp, cpus=cpus, wrk_cpus=wrk_cpus, duration=args.duration,
                connections=args.connections, rounds=args.rounds, writes=args.deletes,
            )  # fmt: skip
            if args.redis:
                one_behind, many_behind = (
                    edge.renders_per_invalidation(
                        env, tmp, redis_url=os.environ["REDIS_URL"], workers=behind,
                        readers=args.readers, rounds=args.invalidations,
                    )
                    for behind in (1, EDGE_WORKERS)
                )  # fmt: skip
                edge_figures.renders = (one_behind, many_behind)
        except Exception as exc:  # the rest of the run still reports, then fails
            print(f"bench: the edge rows failed: {exc!r}", flush=True)
            edge_failed = True
    bumps = revalidate.measure()
    results = Results(
        servers=rows, small=small, chosen=chosen, bares=bares, app_rows=app_rows,
        compressed=compressed, signed=signed, signed_compressed=signed_compressed,
        unrepeated=unrepeated, own_cookie=own_cookie, in_turn=in_turn, bare_unique=bare_unique,
        dynamic=dynamic, one=one, many=many,
        deleting=deleting, bumps=bumps, workers=workers, redis=redis,
        pinned=args.pin, skipped=skipped, elapsed=time.monotonic() - started,
        edge=edge_figures,
    )  # fmt: skip
    report(results)
    if edge_failed:
        print("bench: FAILED: the edge rows (see above)", flush=True)
    return 1 if edge_failed else 0


def _stop_all(servers: list[AppServer]) -> None:
    for server in servers:  # all at once, then wait for each
        server.terminate()
    for server in servers:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
