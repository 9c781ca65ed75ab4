"""A team's writes at scale: write -> fresh for a comment, an assignment and a
rename, next to a status change, and the cached list's req/s.

    scripts/bench --teams 100000                 # python -m bench.teams 100000

Over a fresh SQLite database seeded with N tickets (app.seed) and three
comments on each (3N, written straight to the database, counted on their
tickets as the app counts them), on the server scripts/run starts (one
worker, pinned to CPU 0, wrk on CPU 1), signed in as the admin:

- status: a status change, then ``GET /tickets`` until it shows it;
- comment: a comment on a ticket of the first page, then the ticket's page
  until it shows it (the comment list is a live fragment of that page);
- assignment: a ticket of the first page assigned to the admin or to nobody,
  then ``GET /tickets`` until its row says so;
- rename: the admin's new name, then ``GET /tickets`` until the rows of the
  tickets assigned to them show it (only those rows re-render);
- cached: wrk on ``GET /tickets`` (HIT), req/s, with and without comments
  on the tickets (the same list, over a database with none).

Each write -> fresh is p50 and p90 of ``--rounds`` rounds (the first read is
fresh: invalidation precedes each write's answer). Nothing is written to the
repository.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from itertools import islice
from pathlib import Path

import httpx
from sqlalchemy import insert, text

from app.db import Database
from app.models import Comment, utcnow
from app.seed import seed_many
from bench import wrk
from bench.scale import SERVER_CPU, WRK_CPU, _first_rows, p, through_httpx, write_then_fresh
from harness.app_server import AppServer
from harness.client import sign_up

COMMENTS_PER_TICKET = 3
BATCH = 5_000


async def comment_on_every_ticket(database_url: str, per_ticket: int) -> int:
    """``per_ticket`` comments on each ticket, by nobody known, counted on it."""
    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            ids = [row[0] for row in await connection.execute(text("SELECT id FROM ticket"))]
            start = utcnow() - timedelta(days=1)
            rows = (
                {
                    "id": str(uuid.uuid4()),
                    "ticket_id": ticket_id,
                    "author_id": None,
                    "body": f"Seen it too ({n + 1}).",
                    "created_at": start + timedelta(seconds=n),
                    "updated_at": start + timedelta(seconds=n),
                }
                for ticket_id in ids
                for n in range(per_ticket)
            )
            while batch := list(islice(rows, BATCH)):
                await connection.execute(insert(Comment), batch)
            await connection.execute(
                text("UPDATE ticket SET comment_count = :n"), {"n": per_ticket}
            )
        return len(ids) * per_ticket
    finally:
        await db.close()


def rounds_of(write: Callable[[int], Callable[[], bool]], rounds: int) -> list[float]:
    """ms of each round: ``write(n)`` writes, and returns the check the next
    reads repeat until it holds (the first read should)."""
    taken = []
    for n in range(rounds):
        started = time.perf_counter()
        fresh = write(n)
        while not fresh():
            pass
        taken.append((time.perf_counter() - started) * 1000)
    return taken


def measure(http: httpx.Client, rounds: int) -> dict[str, list[float]]:
    first = [ticket_id for ticket_id, _ in _first_rows(http)]

    def comment(n: int) -> Callable[[], bool]:
        ticket_id, said = first[n % 10], f"Bench comment {n} {uuid.uuid4().hex[:6]}"
        answer = http.post(f"/tickets/{ticket_id}/comments", data={"body": said})
        assert answer.status_code == 303, answer.text
        return lambda: said in http.get(f"/tickets/{ticket_id}").text

    def assign(n: int) -> Callable[[], bool]:
        ticket_id, whom = first[10 + n % 10], "me" if n % 20 < 10 else ""
        answer = http.post(f"/tickets/{ticket_id}/update", data={"assignee": whom})
        assert answer.status_code == 303, answer.text
        shown = "assigned to" if whom else "Unassigned"
        return lambda: shown in _row(http.get("/tickets").text, ticket_id)

    for ticket_id in first[:5]:  # the rows a rename moves
        http.post(f"/tickets/{ticket_id}/update", data={"assignee": "me"})

    def rename(n: int) -> Callable[[], bool]:
        name = f"Ada {n}"
        answer = http.post("/account", data={"name": name})
        assert answer.status_code == 303, answer.text
        return lambda: f"assigned to {name}<" in http.get("/tickets").text

    return {
        "status change": write_then_fresh(through_httpx(http), rounds),
        "comment": rounds_of(comment, rounds),
        "assignment": rounds_of(assign, rounds),
        "rename": rounds_of(rename, rounds),
    }


def _row(page: str, ticket_id: str) -> str:
    start = page.index(f'<li id="ticket-{ticket_id}"')
    return page[start : page.index("</li>", start)]


def serve(tmp: str, name: str, url: str) -> AppServer:
    server = AppServer(Path(tmp) / f"{name}.log", env={"DATABASE_URL": url}, cpus=SERVER_CPU)
    server.start()
    return server


def run(tickets: int, rounds: int, duration: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain, commented = (
            f"sqlite+aiosqlite:///{tmp}/plain.db",
            f"sqlite+aiosqlite:///{tmp}/teams.db",
        )
        seeded = time.perf_counter()
        for url in (plain, commented):
            asyncio.run(seed_many(url, tickets))
        comments = asyncio.run(comment_on_every_ticket(commented, COMMENTS_PER_TICKET))
        print(
            f"teams: seeded {tickets:,} tickets twice, {comments:,} comments on one"
            f" ({time.perf_counter() - seeded:.1f} s)",
            flush=True,
        )
        cached = {}
        for name, url in (("without comments", plain), ("with comments", commented)):
            server = serve(tmp, name.replace(" ", "-"), url)
            try:
                if name == "with comments":
                    with httpx.Client(base_url=server.base_url, timeout=30) as http:
                        http.cookies.set("session", sign_up(http))
                        fresh = measure(http, rounds)
                cached[name] = wrk.run(
                    server.base_url + "/tickets", duration=duration, connections=32, cpus=WRK_CPU
                ).requests_per_s
            finally:
                server.stop()
    print()
    print(
        f"at {tickets:,} tickets and {comments:,} comments (SQLite, memory cache), {rounds} rounds"
    )
    print(f"{'write -> fresh':<16} {'p50':>9} {'p90':>9}")
    for write, taken in fresh.items():
        print(f"{write:<16} {statistics.median(taken):>6.2f} ms {p(taken, 90):>6.2f} ms")
    ratio = cached["with comments"] / cached["without comments"]
    print(
        f"cached GET /tickets: {cached['with comments']:,.0f} req/s with comments,"
        f" {cached['without comments']:,.0f} without ({ratio:.2f}x)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tickets", type=int)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk")
    args = parser.parse_args(argv)
    run(args.tickets, args.rounds, args.duration)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
