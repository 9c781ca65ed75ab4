"""The cached list's req/s, this checkout against another revision, in one run.

    scripts/bench --list-against aefe4f7 100000   # python -m bench.list_against aefe4f7 100000

Does a feature slow the page everyone reads most? ``bench.teams`` answered
that with two servers loaded one after the other, minutes apart, which on a
shared machine differ by more than the answer. Here both revisions serve at
once, each from its own SQLite database seeded with N tickets by its own code
(its own schema; this checkout's tickets also get three comments each, as
``bench.teams`` writes them), on the same CPU, and their rows are loaded in
interleaved rounds, each alone on that CPU while the other is paused
(``bench.rows``). ``GET /tickets`` (a HIT) is asked three ways, as
``bench.hits`` asks it: identical requests, a header of their own each, and
a cookie of their own each (which names no session: the whole HIT path
before 5100b61, a repeat since). Each revision's page is its own (markup
differs between them), so the table says how big each is.

The other revision is checked out in a temporary git worktree and served by
this checkout's virtual environment (fine for revisions with the same
requirements).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from contextlib import ExitStack
from pathlib import Path

from app.seed import seed_many
from bench import verify
from bench.against import checkout, seed
from bench.hits import SERVER_CPU, rows_of
from bench.rows import Load, Row, load_rounds
from bench.teams import COMMENTS_PER_TICKET, comment_on_every_ticket
from harness.app_server import AppServer

OURS, THEIRS = "this checkout", "before"


def run(revision: str, tickets: int, duration: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        tmp = Path(folder)
        ours_url, theirs_url = (
            f"sqlite+aiosqlite:///{tmp}/{name}.db" for name in ("ours", "theirs")
        )
        asyncio.run(seed_many(ours_url, tickets))
        comments = asyncio.run(comment_on_every_ticket(ours_url, COMMENTS_PER_TICKET))
        other = stack.enter_context(checkout(revision, tmp / "other"))
        seed(other, theirs_url, tickets)
        servers = {}
        for name, url, root in ((OURS, ours_url, None), (THEIRS, theirs_url, other)):
            env = {"DATABASE_URL": url, "CACHE_URL": "memory://"}
            options = {} if root is None else {"root": root}
            server = AppServer(tmp / f"{name}.log", env=env, cpus=SERVER_CPU, **options)  # type: ignore[arg-type]
            stack.callback(server.stop)
            servers[name] = server.start()
            verify.cached(servers[name])  # a HIT from here on, or it says why not
        # Not "people in turn": its sessions are written with this checkout's schema,
        # which another revision's database may not have.
        rows: list[Row] = [
            *rows_of(OURS, servers[OURS], "X-Cache: HIT")[:3],
            *rows_of(f"{THEIRS} ({revision})", servers[THEIRS], "X-Cache: HIT")[:3],
        ]
        sizes = {
            name: len(verify.fetch(server.base_url + verify.LIST).content)
            for name, server in servers.items()
        }
        print(
            f"list against {revision}: {tickets:,} tickets each ({comments:,} comments on"
            f" this checkout's); {rounds} interleaved rounds of wrk -t1 -c32 -d{duration}s per"
            f" row (medians); page bytes (identity): this checkout {sizes[OURS]:,},"
            f" {revision} {sizes[THEIRS]:,}",
            flush=True,
        )
        load_rounds(rows, Load(duration, 32), rounds)
    half = len(rows) // 2
    print(f"{'asked':<16}{'ours req/s':>12}{'theirs req/s':>14}{'ours p99 ms':>13}{'ratio':>8}")
    for ours, theirs in zip(rows[:half], rows[half:], strict=True):
        kind = ours.name.rsplit(", ", 1)[1]
        print(
            f"{kind:<16}{ours.rps:>12,.0f}{theirs.rps:>14,.0f}{ours.p99_ms:>13.2f}"
            f"{ours.rps / theirs.rps:>8.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the revision to compare with, e.g. aefe4f7")
    parser.add_argument("tickets", type=int)
    parser.add_argument("--duration", type=int, default=5, help="seconds of one wrk load")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    run(args.revision, args.tickets, args.duration, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
