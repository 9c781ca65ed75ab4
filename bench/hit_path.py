"""The HIT fast path in process: a loop of ASGI calls, with sampled verification off and on.

    python -m bench.hit_path [--calls N] [--rounds R]

One Starlette app with one ``@cached`` route (a 10 kB page) behind
``CacheMiddleware`` (no ``RepeatsMiddleware``: every call is a fresh HIT
read), called directly with an ASGI scope, no server, no socket, one core.
Each round times ``--calls`` HITs of each configuration in turn (so drift in
the machine hits them alike), and the figure is the best round's ns per
call. The configurations: verification off (``Cache()``, the default), and
on at ``CACHE_VERIFY_RATE`` 0.001 and 0.01, where the sampled calls are
routed and their page rendered again in the background (the loop yields
every 100 calls so that those renders run, in every configuration alike).
On a build without ``verify_rate`` only "off" is run: the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from app.cache import Cache, CacheMiddleware, MemoryStore, cache_tag, cached

PAGE = "<html><body>" + "<p>a ticket row, as the list shows it</p>" * 250 + "</body></html>"
RATES = (0.0, 0.001, 0.01)
YIELD_EVERY = 100


def app_with(rate: float) -> tuple[Starlette, Cache]:
    # The build before this option is the baseline: it is run with "off" only.
    options: dict[str, Any] = {"verify_rate": rate} if rate else {}
    cache = Cache(MemoryStore(1 << 24), **options)

    @cached()
    async def page(request: Request) -> str:
        cache_tag("page")
        return PAGE

    app = Starlette(
        routes=[Route("/page", page)], middleware=[Middleware(CacheMiddleware, cache=cache)]
    )
    return app, cache


SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/page",
    "raw_path": b"/page",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1"), (b"accept", b"text/html")],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 80),
}


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def sender() -> tuple[Callable[[dict[str, Any]], Coroutine[Any, Any, None]], list[int]]:
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    return send, statuses


async def timed(app: Starlette, calls: int) -> float:
    """ns per call of ``calls`` HITs."""
    send, statuses = sender()
    started = time.perf_counter_ns()
    for n in range(calls):
        await app(dict(SCOPE), receive, send)  # type: ignore[arg-type]
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let background verifications run
    elapsed = time.perf_counter_ns() - started
    assert statuses == [200] * calls
    return elapsed / calls


async def main(calls: int, rounds: int) -> None:
    supported = "verify_rate" in inspect.signature(Cache).parameters
    rates = RATES if supported else RATES[:1]
    apps = {rate: app_with(rate) for rate in rates}
    for app, _ in apps.values():
        await timed(app, 1_000)  # the MISS, then warm
    best = {rate: float("inf") for rate in rates}
    for _ in range(rounds):
        for rate, (app, _) in apps.items():
            best[rate] = min(best[rate], await timed(app, calls))
    for rate, (_, cache) in apps.items():
        await cache.settle()
        metrics = cache.metrics.render().decode()
        verified = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("cache_verifications_total{")
        )
        label = "off" if rate == 0 else f"rate {rate}"
        print(f"{label:>10}: {best[rate]:8.0f} ns per HIT, {verified:.0f} verifications")
        await cache.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    asyncio.run(main(options.calls, options.rounds))
