"""Write -> fresh in process: what a status change and the list read after it cost.

    python -m bench.scale_loop 100000 [--rounds 300] [--too SIDE] [--new-pages]

Over a fresh SQLite database seeded with N tickets (app.seed), the real app
served in process over httpx (no server, no sockets: nothing but the app's
own work), signed in as the admin: each round is a status change (a plain
form POST) then ``GET /tickets``, which must show it. Per round: the wall
time (p50, p10, p90), the CPU time of the process (every thread's: the
aiosqlite thread's included), the SQL statements run and the trips made to
aiosqlite's thread. Less noisy than ``bench.scale`` on a shared machine (CPU
time is what the app spent, whoever else runs), and a loop to run py-spy or
cProfile over.

``--too SIDE``: every other round as it was before one of these changes,
and the two sides' figures with their ratio, taken in this one run:

- ``all-trips``: every statement makes its trip to aiosqlite's thread (as
  before app/sqlite_driver.py ran reads, then one row's writes, on the loop's);
- ``insert-trips``: each INSERT makes its trip (as before app/sqlite_driver.py
  ran one row's INSERT in a write on the loop's thread);
- ``first-write-trips``: a transaction's first write makes its trip (as before
  app/sqlite_driver.py tried one row's on the loop's thread);
- ``unfrozen``: what start-up made is back in the garbage collector's scans
  (as before app/process.py froze it);
- ``young-700``: the young generation is collected every 700 allocations
  (CPython's default, as before app/process.py widened it);
- ``built-statements``: the list window's SELECT is built for each read (as
  before app/tickets/queries.py kept it built);
- ``hashed-parts``: each entry's ETag is made with it, by blake2b (as before
  app/cache/entry.py made it on first ask, by SHA-256);
- ``chained-globals``: each template's globals are a ``ChainMap`` over the
  environment's (Jinja's own, before app/templating.py);
- ``personal-q5``: a known visitor's page is compressed at the shared body's
  brotli quality, 5 (as before app/cache/encoding.py's ``compress_for_one``),
  best with ``--new-pages``.

``--new-pages``: every round's page read as if nobody had read it before
(``Holes.assembled`` keeps nothing), as in a tracker whose writes do not come
back to an earlier page; without it, the ten tickets' three statuses make the
same 30 pages again and again, and what the memo still holds of them (a
person's compressed page) is never made again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import statistics
import tempfile
import time
from collections import ChainMap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiosqlite
import httpx
from sqlalchemy import event

from app import sqlite_driver, templating
from app.cache import answers, flight
from app.cache.encoding import compress_as
from app.cache.entry import Entry
from app.cache.holes import Assembled
from app.main import create_app
from app.seed import seed_many
from app.settings import Settings
from app.tickets import queries
from bench.scale import NEXT_STATUS, ROW, p
from harness.client import sign_up_async

WARM_ROUNDS = 10


@dataclass
class Side:
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    trips: list[int] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (
            f"  {name:>14}: wall p50 {statistics.median(self.wall_ms):.2f} ms"
            f" (p10 {p(self.wall_ms, 10):.2f}, p90 {p(self.wall_ms, 90):.2f}),"
            f" CPU {statistics.median(self.cpu_ms):.2f} ms"
            f" (mean {statistics.mean(self.cpu_ms):.2f}, max {max(self.cpu_ms):.1f}),"
            f" {statistics.median(self.statements):.0f} statements,"
            f" {statistics.median(self.trips):.0f} trips ({len(self.wall_ms)} rounds)"
        )


@contextlib.contextmanager
def all_trips() -> Iterator[None]:
    """Every statement makes its trip to aiosqlite's thread."""
    with (
        patch.object(sqlite_driver, "reads_here", lambda sql: False),
        patch.object(sqlite_driver, "inserts_here", lambda sql: False),
        patch.object(sqlite_driver, "first_write_here", lambda sql: False),
    ):
        yield


@contextlib.contextmanager
def unfrozen() -> Iterator[None]:
    """What start-up made is scanned by the collector again (frozen back after)."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.freeze()


@contextlib.contextmanager
def young_at_700() -> Iterator[None]:
    """The young generation collected every 700 allocations, CPython's default
    (as before app/process.py widened it)."""
    widened = gc.get_threshold()
    gc.set_threshold(700, *widened[1:])
    try:
        yield
    finally:
        gc.set_threshold(*widened)


@contextlib.contextmanager
def first_write_trips() -> Iterator[None]:
    """A transaction's first write makes its trip, whatever it writes."""
    with patch.object(sqlite_driver, "first_write_here", lambda sql: False):
        yield


@contextlib.contextmanager
def built_statements() -> Iterator[None]:
    """Each window's SELECT built for its read (as before app/tickets/queries.py kept them)."""
    with patch.object(queries, "_window_statement", queries._window_statement.__wrapped__):
        yield


@contextlib.contextmanager
def insert_trips() -> Iterator[None]:
    """Every INSERT makes its trip to aiosqlite's thread."""
    with patch.object(sqlite_driver, "inserts_here", lambda sql: False):
        yield


def _hashed_at_once(*args: Any, **kwargs: Any) -> Entry:
    entry = Entry(*args, **kwargs)
    entry.derived.etag = f'"{hashlib.blake2b(entry.body, digest_size=16).hexdigest()}"'
    return entry


@contextlib.contextmanager
def hashed_parts() -> Iterator[None]:
    """Every entry rendered gets its ETag at once, by blake2b."""
    with patch.object(flight, "Entry", _hashed_at_once):
        yield


@contextlib.contextmanager
def chained_globals() -> Iterator[None]:
    """Each template loaded sees the environment's globals through a ``ChainMap``."""
    loaded = [t for t in templating.environment.cache.values() if t is not None]  # type: ignore[union-attr]
    plain = [template.globals for template in loaded]
    for template in loaded:
        template.globals = ChainMap({}, templating.environment.globals)
    try:
        yield
    finally:
        for template, made in zip(loaded, plain, strict=True):
            template.globals = made


@contextlib.contextmanager
def personal_q5() -> Iterator[None]:
    """A known visitor's page compressed as the shared body is (brotli quality 5)."""
    with patch.object(answers, "compress_for_one", compress_as):
        yield


OTHER_SIDES: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "all-trips": all_trips,
    "insert-trips": insert_trips,
    "first-write-trips": first_write_trips,
    "unfrozen": unfrozen,
    "young-700": young_at_700,
    "built-statements": built_statements,
    "hashed-parts": hashed_parts,
    "chained-globals": chained_globals,
    "personal-q5": personal_q5,
}


async def measure(
    database_url: str, rounds: int, other: str | None, new_pages: bool = False
) -> dict[str, Side]:
    app = create_app(Settings(database_url=database_url))
    if new_pages:
        app.state.cache.holes.assembled = Assembled(max_bytes=0)
    counted = {"statements": 0, "trips": 0}

    def statement(*_: Any) -> None:
        counted["statements"] += 1

    event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", statement)
    sides = {"as built": Side(), **({other: Side()} if other else {})}
    execute: Any = aiosqlite.Connection._execute  # untyped

    async def trip(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counted["trips"] += 1
        return await execute(self, fn, *args, **kwargs)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            http.cookies.set("session", await sign_up_async(http))
            with patch.object(aiosqlite.Connection, "_execute", trip):
                for n in range(WARM_ROUNDS + rounds * (2 if other else 1)):
                    name = other if other and n % 2 else "as built"
                    side = sides[name] if n >= WARM_ROUNDS else Side()
                    ticket_id, status = ROW.findall((await http.get("/tickets")).text)[n % 10]
                    with OTHER_SIDES[name]() if name != "as built" else contextlib.nullcontext():
                        await _round(http, ticket_id, NEXT_STATUS[status], side, counted)
            await app.state.outbox.idle()
    return {name: side for name, side in sides.items() if side.wall_ms}


async def _round(
    http: httpx.AsyncClient, ticket_id: str, target: str, side: Side, counted: dict[str, int]
) -> None:
    counted["statements"] = counted["trips"] = 0
    started, cpu = time.perf_counter(), time.process_time()
    answer = await http.post(f"/tickets/{ticket_id}/update", data={"status": target})
    page = (await http.get("/tickets")).text
    side.wall_ms.append((time.perf_counter() - started) * 1000)
    side.cpu_ms.append((time.process_time() - cpu) * 1000)
    side.statements.append(counted["statements"])
    side.trips.append(counted["trips"])
    assert answer.status_code == 303, answer.text
    shown = f'id="ticket-{ticket_id}" class="ticket-row status-{target.lower()}"'
    assert shown in page, "the first read after a write was stale"


def run(tickets: int, rounds: int, other: str | None, new_pages: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'loop.db'}"
        seeded = time.perf_counter()
        asyncio.run(seed_many(url, tickets))
        print(f"scale_loop: seeded {tickets:,} in {time.perf_counter() - seeded:.1f} s", flush=True)
        sides = asyncio.run(measure(url, rounds, other, new_pages))
    pages = ", every page new" if new_pages else ""
    print(f"write -> fresh in process at {tickets:,} tickets (SQLite, memory cache{pages}):")
    for name, side in sides.items():
        print(side.line(name))
    if len(sides) == 2:
        built, before = (statistics.median(side.cpu_ms) for side in sides.values())
        print(f"  CPU, as built / {other}: {built / before:.3f}x (below 1: less)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tickets", type=int, help="tickets seeded, e.g. 100000")
    parser.add_argument("--rounds", type=int, default=300, help="rounds (per side)")
    parser.add_argument(
        "--too", choices=list(OTHER_SIDES), help="alternate with rounds as before this change"
    )
    parser.add_argument("--new-pages", action="store_true", help="every page as if never read")
    args = parser.parse_args(argv)
    run(args.tickets, args.rounds, args.too, args.new_pages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
