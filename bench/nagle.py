"""Several workers, small answers: does the server leave Nagle's algorithm on?

With ``--workers N`` uvicorn's supervisor binds the listening socket itself and
leaves its ``proto`` at 0, so asyncio never turns TCP_NODELAY on for the
accepted sockets (uvicorn issue 3149). On Linux a small keep-alive answer
written in two parts (head, then body) then waits for the client's delayed
ACK: about 40 ms each. A big page hides it; a small fragment shows it.

uvloop sets TCP_NODELAY on every TCP socket itself, so only the asyncio loop
shows it. This serves the app with 2 workers twice, on the chosen server and on
uvicorn h11+asyncio (what scripts/run started before), and gives each one short
wrk load of the cached ``GET /fragments/counts``: a p50 near 40 ms is the delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.serve import SERVER, SERVERS
from bench import verify, wrk
from harness.app_server import AppServer

PATH = "/fragments/counts"
WORKERS = 2
SECONDS = 2
DELAYED_MS = 20.0  # a p50 above this is the delayed ACK, not work


@dataclass(frozen=True)
class Measured:
    label: str
    load: wrk.Load

    @property
    def delayed(self) -> bool:
        return self.load.p50_ms >= DELAYED_MS


@dataclass(frozen=True)
class Nagle:
    size: int  # body bytes of one answer
    chosen: Measured
    stock: Measured


def _measure(server: str, env: dict[str, str], tmp: Path, connections: int) -> Measured:
    name = f"nagle-{server}"
    with AppServer(
        tmp / f"{name}.log", server=server, workers=WORKERS, env=env, pidfile=tmp / f"{name}.pid"
    ) as running:
        url = running.base_url + PATH
        wrk.run(url, duration=1, connections=connections)  # each worker renders it once
        load = wrk.run(url, duration=SECONDS, connections=connections)
    if load.errors:
        raise RuntimeError(f"{server} --workers {WORKERS}: {load.errors} errors:\n{load.output}")
    return Measured(f"{SERVERS[server].label} --workers {WORKERS}", load)


def measure(env: dict[str, str], tmp: Path, connections: int, reference_url: str) -> Nagle:
    """Both servers, one after the other; ``reference_url`` serves PATH for its size."""
    size = verify.sent(reference_url + PATH).size
    chosen = _measure(SERVER, env, tmp, connections)
    stock = _measure("uvicorn-h11", env, tmp, connections)
    return Nagle(size, chosen, stock)


def report(nagle: Nagle) -> None:
    print(
        f"{WORKERS} workers, cached GET {PATH} ({nagle.size} bytes), one {SECONDS}s load each, "
        f"unpinned (a p50 near 40 ms is Nagle's algorithm left on, uvicorn #3149):"
    )
    for measured in (nagle.chosen, nagle.stock):
        load = measured.load
        verdict = "NAGLE DELAY" if measured.delayed else "no delay"
        print(
            f"  {measured.label:<42}{load.requests_per_s:>9,.0f} req/s  p50 {load.p50_ms:6.2f} ms"
            f"  p99 {load.p99_ms:6.2f} ms  {verdict}"
        )
