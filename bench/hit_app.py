"""The app's own HIT in process, three ways, next to a bare ASGI callable, in one run.

    python -m bench.hit_app [--calls N] [--rounds R] [--tickets N]

``create_app`` over a seeded SQLite database, its whole middleware stack,
called directly with ASGI scopes (no server, no socket) for a cached
``GET /tickets``: asked with a header of its own each (answered from the
repeats, ``app/cache/repeats.py``: the answer does not depend on it), with a
cookie of its own each (a visitor nobody knows: the whole HIT path, holes
filled for nobody), and a bare ASGI callable sending the same start message
and a body, for the floor of the loop itself. Rounds alternate the three (so
drift in the machine's load falls on all alike); each figure is the best
round's ns per request.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from app.main import create_app
from app.settings import Settings
from bench import seed

Message = dict[str, Any]


def scope_of(n: int, *, cookie: bool) -> Message:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk")]
    headers.append((b"cookie", b"visitor=%d" % n) if cookie else (b"x-request-id", b"%d" % n))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/tickets", "raw_path": b"/tickets", "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def main(tickets: int, calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await seed.fill(url, tickets)
        app = create_app(Settings(database_url=url))
        statuses: list[Message] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message)

        async with app.router.lifespan_context(app):
            for n in range(2):
                await app(scope_of(n, cookie=False), receive, send)  # type: ignore[arg-type]
            start = statuses[-1]
            assert dict(start["headers"])[b"x-cache"] == b"HIT"

            async def bare(scope: Message, receive: Any, send: Any) -> None:
                await send(
                    {"type": "http.response.start", "status": 200, "headers": start["headers"]}
                )
                await send({"type": "http.response.body", "body": b"x"})

            async def timed(call: Any, base: int, *, cookie: bool) -> float:
                began = time.perf_counter_ns()
                for n in range(base, base + calls):
                    await call(scope_of(n, cookie=cookie), receive, send)
                return (time.perf_counter_ns() - began) / calls

            ways: dict[str, tuple[Any, bool]] = {
                "a header of its own (repeats)": (app, False),
                "a cookie of its own (whole path)": (app, True),
                "bare ASGI callable": (bare, False),
            }
            best = dict.fromkeys(ways, float("inf"))
            base = 10
            for _ in range(rounds):
                for name, (call, cookie) in ways.items():
                    best[name] = min(best[name], await timed(call, base, cookie=cookie))
                    base += calls
            assert all(s["status"] == 200 for s in statuses)
    print(f"GET /tickets, HIT, in process ({tickets} tickets; best of {rounds} rounds of {calls}):")
    for name, ns in best.items():
        print(f"  {name:<34} {ns:8.0f} ns per request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    asyncio.run(main(options.tickets, options.calls, options.rounds))
