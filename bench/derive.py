"""What deriving cache dependencies from the SQL costs a render, in one run.

    python -m bench.derive [--tickets N] [--requests N] [--rounds N]

The real app renders ``GET /tickets`` on every request (``bench.dynamic_app``:
nothing stored, no render shared), in process over httpx, with the derivation
on (as the app runs) and off (the session hook and the templates' row
dependencies removed: what a render costs with dependencies named by hand,
which cost a few set insertions). Rounds alternate the two, and each figure is
the median of its rounds, so the machine's noise falls on both alike. Every
request asks a URL of its own (a query parameter the route ignores), as
clients do.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import httpx
from sqlalchemy import event

from app import templating
from app.deps import hooks
from bench import dynamic_app, seed


@contextmanager
def derivation_off() -> Iterator[None]:
    event.remove(hooks.TrackedSession, "do_orm_execute", hooks._on_execute)
    try:
        with patch.object(templating, "rows_rendered", lambda values: set()):
            yield
    finally:
        event.listen(hooks.TrackedSession, "do_orm_execute", hooks._on_execute)


async def _per_request(client: httpx.AsyncClient, requests: int, start: int) -> float:
    began = time.perf_counter()
    for n in range(start, start + requests):
        answer = await client.get(f"/tickets?utm_source={n}")
        assert answer.status_code == 200 and answer.headers["x-cache"] != "HIT"
    return (time.perf_counter() - began) / requests


async def measure(tickets: int, requests: int, rounds: int) -> tuple[float, float]:
    """Median seconds per render, derivation on and off."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await seed.fill(url, tickets)
        app = dynamic_app.create_app(database_url=url)
        on: list[float] = []
        off: list[float] = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
                await _per_request(client, requests, 0)  # warm: templates, statements
                for round_ in range(rounds):
                    start = (round_ + 1) * 2 * requests
                    on.append(await _per_request(client, requests, start))
                    with derivation_off():
                        off.append(await _per_request(client, requests, start + requests))
        return statistics.median(on), statistics.median(off)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    on, off = asyncio.run(measure(args.tickets, args.requests, args.rounds))
    print(
        f"render of GET /tickets ({args.tickets} tickets, {args.requests} requests x "
        f"{args.rounds} rounds, each URL its own): derivation on {on * 1e3:.2f} ms, "
        f"off {off * 1e3:.2f} ms: {on / off:.2f}x ({(on - off) * 1e3:+.2f} ms a render)"
    )


if __name__ == "__main__":
    main()
