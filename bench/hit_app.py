"""The app's own HIT in process, four ways, next to a bare ASGI callable, in one run.

    python -m bench.hit_app [--calls N] [--rounds R] [--tickets N] [--people N]

``create_app`` over a seeded SQLite database, its whole middleware stack,
called directly with ASGI scopes (no server, no socket) for a cached
``GET /tickets``: asked with a header of its own each (answered from the
repeats, ``app/cache/repeats.py``: the answer does not depend on it); the
same by a second app that keeps nothing for repeats (the whole HIT path: what
the repeats save); with a cookie of its own each that names no session (a
visitor nobody knows: a repeat too), by
``--people`` signed-in people in turn (``bench/people.py``: a real session
each, more people than the repeats keep; the whole HIT path, holes filled
for each), and a bare ASGI callable sending the same start message and a
body, for the floor of the loop itself. Rounds alternate the ways (so drift
in the machine's load falls on all alike); each figure is the best round's
CPU time per request (this process's, so that other work on a shared
machine is not counted), with the spread of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from app.main import CachedApp, create_app
from app.settings import Settings
from bench import people, seed

Message = dict[str, Any]


def scope_of(n: int, *, cookie: bytes | None = None) -> Message:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk")]
    headers.append((b"cookie", cookie) if cookie is not None else (b"x-request-id", b"%d" % n))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/tickets", "raw_path": b"/tickets", "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def main(tickets: int, calls: int, rounds: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await seed.fill(url, tickets)
        readers = [cookie.encode() for cookie in await people.sign_in(url, count)]
        app = create_app(Settings(database_url=url))
        # The same app with nothing kept for repeats: each request its whole HIT
        # path, to tell what the repeats memo (app/cache/repeats.py) saves.
        whole = create_app(Settings(database_url=url))
        assert isinstance(whole, CachedApp)
        setattr(whole.repeats, "keep", lambda *args, **options: None)  # noqa: B010
        statuses: list[Message] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message)

        async with app.router.lifespan_context(app), whole.router.lifespan_context(whole):
            for n in range(2):
                await app(scope_of(n), receive, send)  # type: ignore[arg-type]
            start = statuses[-1]
            assert dict(start["headers"])[b"x-cache"] == b"HIT"

            async def bare(scope: Message, receive: Any, send: Any) -> None:
                await send(
                    {"type": "http.response.start", "status": 200, "headers": start["headers"]}
                )
                await send({"type": "http.response.body", "body": b"x"})

            def unknown(n: int) -> bytes:
                return b"visitor=%d" % n

            def reader(n: int) -> bytes:
                return readers[n % len(readers)]

            async def timed(call: Any, base: int, cookie: Any) -> float:
                began = time.process_time_ns()
                for n in range(base, base + calls):
                    await call(scope_of(n, cookie=cookie and cookie(n)), receive, send)
                return (time.process_time_ns() - began) / calls

            ways: dict[str, tuple[Any, Any]] = {
                "a header of its own (repeats)": (app, None),
                "the same, no repeats kept": (whole, None),
                "a cookie of its own, no session": (app, unknown),
                f"{count} people signed in, in turn": (app, reader),
                "bare ASGI callable": (bare, None),
            }
            for call, cookie in ways.values():  # warm: every person's session read once
                await timed(call, 0, cookie)
            runs: dict[str, list[float]] = {name: [] for name in ways}
            base = 10
            for _ in range(rounds):
                for name, (call, cookie) in ways.items():
                    runs[name].append(await timed(call, base, cookie))
                    base += calls
            assert all(s["status"] == 200 for s in statuses)
            await app(scope_of(0, cookie=reader(0)), receive, send)  # type: ignore[arg-type]
            signed_in = dict(statuses[-1]["headers"])  # holes filled for that person
            assert signed_in[b"x-cache"] == b"HIT"
            assert signed_in[b"cache-control"] == b"private, no-cache"
    print(
        f"GET /tickets, HIT, in process ({tickets} tickets; best of {rounds} rounds of {calls},"
        " CPU time; spread: (max - min) / best):"
    )
    for name, ns in runs.items():
        best = min(ns)
        print(f"  {name:<34} {best:8.0f} ns per request  {(max(ns) - best) / best:5.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--people", type=int, default=people.COUNT)
    options = parser.parse_args()
    asyncio.run(main(options.tickets, options.calls, options.rounds, options.people))
