"""Write -> fresh at N tickets, this checkout against another revision, in one run.

    scripts/bench --scale 100000 --against 9e579d8   # python -m bench.against 9e579d8 100000

Two runs of ``bench.scale`` made minutes apart differ by more than most
changes do on a shared machine (12.5 and 17.9 ms p50 for one revision), so
"unchanged or better" cannot be read from them. Here both revisions serve at
once, each from its own SQLite database seeded alike by its own code (its
own schema), on the same CPU, and the rounds alternate between them (ABBA),
so drift in the machine's load falls on both alike. Two figures:

- write -> fresh: what ``bench.scale`` times, a status change (plain form
  POST) then ``GET /tickets``, which must show it (one row rendered), with
  its lean client;
- full render: the next window of the list, walking its cursor from the
  newest ticket down, so each is a MISS whose 50 rows were never rendered.

The other revision is checked out in a temporary git worktree and served by
this checkout's virtual environment (fine for revisions with the same
requirements).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from app.settings import ROOT
from bench.plain import Plain
from bench.scale import SERVER_CPU, lean, p, write_then_fresh
from harness.app_server import AppServer
from harness.client import sign_up

WARM_ROUNDS = 10
NEXT = re.compile(r'<a rel="next"[^>]* href="([^"]+)"')


@contextlib.contextmanager
def checkout(revision: str, into: Path) -> Iterator[Path]:
    """``revision`` checked out (detached) at ``into``, removed afterwards."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(into), revision], cwd=ROOT, check=True
    )
    try:
        yield into
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(into)], cwd=ROOT, check=False)


def seed(root: Path, url: str, tickets: int) -> None:
    """``tickets`` generated tickets in a new database, by the code at ``root``."""
    subprocess.run(
        [sys.executable, "-m", "app.seed", str(tickets)],
        cwd=root,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Walk:
    """Windows of the list never read before, one after the other."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.next = self._next_of(http.get("/tickets").text)  # the first: read by the writes

    def render(self, rounds: int, into: list[float]) -> None:
        for _ in range(rounds):
            started = time.perf_counter()
            answer = self.http.get(self.next)
            into.append((time.perf_counter() - started) * 1000)
            assert answer.headers["x-cache"] == "MISS", "a window read twice"
            self.next = self._next_of(answer.text)

    @staticmethod
    def _next_of(page: str) -> str:
        found = NEXT.search(page)
        assert found is not None, "the list ended: seed more tickets"
        return found[1].replace("&amp;", "&")


def run(revision: str, tickets: int, rounds: int, alternations: int) -> None:
    print(
        f"against: write -> fresh and full render at {tickets:,} tickets, this checkout "
        f"and {revision}, {alternations} alternations of {rounds} rounds each, "
        f"both on CPU {SERVER_CPU}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp, checkout(revision, Path(tmp) / "other") as other:
        sides = {"this checkout": ROOT, revision: other}
        servers: dict[str, AppServer] = {}
        clients: dict[str, Plain] = {}
        walks: dict[str, Walk] = {}
        times: dict[str, list[float]] = {}
        renders: dict[str, list[float]] = {}
        try:
            for name, root in sides.items():
                db = Path(tmp) / f"{len(servers)}.db"
                seed(root, f"sqlite+aiosqlite:///{db}", tickets)
                servers[name] = AppServer(
                    Path(tmp) / f"{len(servers)}.log",
                    env={"DATABASE_URL": f"sqlite+aiosqlite:///{db}"},
                    cpus=SERVER_CPU,
                    root=root,
                ).start()
                with httpx.Client(base_url=servers[name].base_url, timeout=30) as http:
                    sign_up(http)  # the session the writes are made with
                    clients[name] = lean(http)
                write_then_fresh(clients[name].fetch, WARM_ROUNDS)
                walks[name] = Walk(httpx.Client(base_url=servers[name].base_url, timeout=30))
                walks[name].render(WARM_ROUNDS, [])
                times[name], renders[name] = [], []
            names = list(sides)
            for turn in range(alternations):
                for name in names if turn % 2 == 0 else names[::-1]:
                    times[name] += write_then_fresh(clients[name].fetch, rounds)
                    walks[name].render(rounds, renders[name])
        finally:
            for client in clients.values():
                client.close()
            for walk in walks.values():
                walk.http.close()
            for server in servers.values():
                server.stop()
    for figure, measured in (("write -> fresh", times), ("full render", renders)):
        for name, values in measured.items():
            print(
                f"  {figure}, {name:>14}: p50 {statistics.median(values):.2f} ms, "
                f"p10 {p(values, 10):.2f}, p90 {p(values, 90):.2f} ({len(values)} rounds)"
            )
        this, that = (statistics.median(measured[name]) for name in sides)
        print(
            f"  {figure}: this checkout / {revision}: {this / that:.3f}x the time (below 1: faster)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare with, e.g. main~3")
    parser.add_argument("tickets", type=int, help="tickets seeded, e.g. 100000")
    parser.add_argument("--rounds", type=int, default=20, help="rounds per alternation")
    parser.add_argument("--alternations", type=int, default=10)
    args = parser.parse_args(argv)
    run(args.revision, args.tickets, args.rounds, args.alternations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
