"""A writer is never slowed by readers: a delete's p50 with no stream open and with 200.

    python -m bench.sse [--clients 200] [--deletes 200] [--rounds 20] [--pause-ms 0]
                        [--read-during] [--timeout 180]

Starts the app (scripts/run's server, one worker, 127.0.0.1, a free port, a
temporary SQLite file, the memory cache) over seeded tickets, then times ``POST
/tickets/<id>/delete`` (a plain form post, answered 303) one delete after
another over one keep-alive connection. Rounds alternate between no stream
open and ``--clients`` idle ``GET /events`` streams; the figures are the p50 of
every delete made each way, and the ratio is "with" over "without" (the
median of each round's own ratio is printed too: it cancels the machine's
drift). Before a "with" round the server's own gauge must count every stream;
after it, every stream must have received one event per delete.

The streams are raw asyncio sockets in a process of their own. By default they
are read after each round, not during it: on this one machine, reading them
would take CPU from the server being measured, which readers elsewhere do not.
The server's side of the work is the same either way (it wakes, frames and
writes every stream; the kernel keeps what is not read yet). ``--read-during``
reads them as the events come.

Deletes follow one another at once (``--pause-ms 0``): the worst case, each one
meeting the fan-out of those before it. Bounded: it gives up after
``--timeout`` seconds; the server is stopped on exit, even on failure or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from app.serve import HOST, SERVER, SERVERS
from bench import seed
from harness.app_server import AppServer
from harness.client import sign_up
from harness.metrics import metrics

MARKER = b"event: invalidate\n"
WARM_UP = 10  # untimed deletes first, with no stream open


# -- the streams, in a process of their own ------------------------------------


@dataclass
class Signals:
    """What the measuring process and the streams' process tell each other."""

    opened: Any  # Queue: how many streams answered 200
    received: Any  # Value: events received by all streams so far
    read: EventType  # start reading
    stop: EventType  # close every stream and exit


def streams(port: int, clients: int, signals: Signals) -> None:
    asyncio.run(_streams(port, clients, signals))


async def _streams(port: int, clients: int, signals: Signals) -> None:
    request = f"GET /events HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(clients):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request)
            connections.append((reader, writer))
        answered = 0
        for reader, _ in connections:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            answered += head.startswith(b"HTTP/1.1 200")
        signals.opened.put(answered)
        await _until(signals.read)
        readers = [asyncio.create_task(_count(reader, signals)) for reader, _ in connections]
        await _until(signals.stop)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    finally:
        for _, writer in connections:
            writer.close()


async def _until(event: EventType) -> None:
    while not event.is_set():
        await asyncio.sleep(0.01)


async def _count(reader: asyncio.StreamReader, signals: Signals) -> None:
    tail = b""  # shorter than MARKER: a marker cut in two is counted once, whole
    while chunk := await reader.read(65536):
        data = tail + chunk
        if found := data.count(MARKER):
            with signals.received.get_lock():
                signals.received.value += found
        tail = data[-(len(MARKER) - 1) :]


class Streams:
    """``clients`` idle streams, open from ``open()`` until ``close()``."""

    def __init__(self, port: int, clients: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.clients = clients
        self.signals = Signals(
            context.Queue(), context.Value("q", 0), context.Event(), context.Event()
        )
        self.process = context.Process(
            target=streams, args=(port, clients, self.signals), daemon=True
        )

    def open(self, timeout: float = 30.0) -> None:
        self.process.start()
        answered: int = self.signals.opened.get(timeout=timeout)
        if answered != self.clients:
            raise RuntimeError(f"{answered} of {self.clients} streams answered 200")

    def read(self) -> None:
        self.signals.read.set()

    def received(self, expected: int, timeout: float = 10.0) -> int:
        """Events received by all streams, once they are ``expected`` (or after ``timeout``)."""
        self.read()
        deadline = time.monotonic() + timeout
        while self.signals.received.value < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return int(self.signals.received.value)

    def close(self) -> None:
        self.signals.stop.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# -- the measurement ------------------------------------------------------------


@dataclass
class Way:
    """The deletes made one way (no stream open, or streams open)."""

    times: list[float] = field(default_factory=list)  # seconds per delete
    round_p50s: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds the server's process spent meanwhile

    def run(self, server: AppServer, client: httpx.Client, ids: list[str], pause: float) -> None:
        cpu = server.cpu_seconds()
        times = []
        for ticket_id in ids:
            times.append(delete(client, ticket_id))
            if pause:
                time.sleep(pause)
        self.server_cpu += server.cpu_seconds() - cpu
        self.times += times
        self.round_p50s.append(statistics.median(times))

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def cpu_ms_per_delete(self) -> float:
        return self.server_cpu / len(self.times) * 1000


@dataclass
class Timings:
    without: Way = field(default_factory=Way)
    with_streams: Way = field(default_factory=Way)
    events_received: int = 0
    events_expected: int = 0

    @property
    def ratio(self) -> float:
        return self.with_streams.p50_ms / self.without.p50_ms

    @property
    def round_ratio(self) -> float:
        pairs = zip(self.with_streams.round_p50s, self.without.round_p50s, strict=True)
        return statistics.median(with_ / without for with_, without in pairs)


def delete(client: httpx.Client, ticket_id: str) -> float:
    started = time.perf_counter()
    response = client.post(f"/tickets/{ticket_id}/delete")
    elapsed = time.perf_counter() - started
    if response.status_code != 303:
        raise RuntimeError(f"delete {ticket_id}: {response.status_code} {response.text[:200]}")
    return elapsed


def subscribers(client: httpx.Client) -> int:
    samples = metrics(client.get("/metrics").text)
    if "events_subscribers" not in samples:
        raise RuntimeError("/metrics has no events_subscribers gauge")
    return int(samples["events_subscribers"])


def wait_for_subscribers(client: httpx.Client, expected: int, deadline: float) -> None:
    while (seen := subscribers(client)) != expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"server has {seen} streams open, expected {expected}")
        time.sleep(0.02)


def measure(server: AppServer, ids: list[str], args: argparse.Namespace) -> Timings:
    deadline = time.monotonic() + args.timeout
    timings = Timings()
    per_round = args.deletes // args.rounds
    pause = args.pause_ms / 1000
    with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
        sign_up(client)  # the first account: the admin, who may delete the seeded tickets
        for ticket_id in ids[:WARM_UP]:
            delete(client, ticket_id)
        remaining = iter(ids[WARM_UP:])
        for _ in range(args.rounds):
            for with_streams in (False, True):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gave up after {args.timeout:.0f}s")
                batch = [next(remaining) for _ in range(per_round)]
                if not with_streams:
                    wait_for_subscribers(client, 0, deadline)
                    timings.without.run(server, client, batch, pause)
                    continue
                streams = Streams(server.port, args.clients)
                try:
                    streams.open()
                    wait_for_subscribers(client, args.clients, deadline)
                    if args.read_during:
                        streams.read()
                    timings.with_streams.run(server, client, batch, pause)
                    expected = args.clients * len(batch)
                    timings.events_expected += expected
                    timings.events_received += streams.received(expected)
                finally:
                    streams.close()
    return timings


# -- the command ------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sse", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="idle SSE streams (200)")
    parser.add_argument("--deletes", type=int, default=200, help="timed deletes each way (200)")
    parser.add_argument("--rounds", type=int, default=20, help="alternations of both ways (20)")
    parser.add_argument("--pause-ms", type=float, default=0.0, help="between deletes (0)")
    parser.add_argument("--read-during", action="store_true", help="read streams as events come")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up after (180 s)")
    args = parser.parse_args(argv)
    if min(args.clients, args.deletes, args.rounds) < 1 or args.deletes % args.rounds:
        parser.error("--clients, --deletes, --rounds must be >= 1; --deletes a multiple of rounds")
    return args


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception, so that every `finally` stops what it started.
    print(f"bench.sse: stopped by signal {signum}", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    try:
        env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
            "CACHE_URL": "memory://",
        }
        ids = asyncio.run(seed.fill(env["DATABASE_URL"], WARM_UP + 2 * args.deletes))
        print(
            f"bench.sse: {args.clients} idle streams, read "
            f"{'during' if args.read_during else 'after'} each round; {args.deletes} deletes "
            f"each way in {args.rounds} alternating rounds, pause {args.pause_ms:g} ms; "
            f"{SERVERS[SERVER].label}, 1 worker; Python {platform.python_version()}; "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        started = time.monotonic()
        with AppServer(tmp / "sse.log", env=env) as server:
            timings = measure(server, ids, args)
        report(timings, args, time.monotonic() - started)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(timings: Timings, args: argparse.Namespace, elapsed: float) -> None:
    verdict = "ok" if timings.ratio <= 1.2 else "ABOVE 1.2x"
    for label, way in (
        ("no stream open", timings.without),
        (f"{args.clients} idle streams open", timings.with_streams),
    ):
        print(
            f"delete p50, {label:<22} {way.p50_ms:6.2f} ms   server CPU "
            f"{way.cpu_ms_per_delete:.2f} ms/delete ({len(way.times)} deletes)"
        )
    print(f"ratio with / without: {timings.ratio:.2f}  {verdict} (target <= 1.2)")
    print(f"median of the {args.rounds} rounds' own ratios: {timings.round_ratio:.2f}")
    print(
        f"events received by the streams: {timings.events_received:,} of "
        f"{timings.events_expected:,} expected; {elapsed:.0f}s"
    )


if __name__ == "__main__":
    sys.exit(main())
