"""The server scripts/run starts (app.serve.SERVER), as it runs: a real process.

What the app alone cannot show: the event stream reaches the client unbuffered,
a stop with streams open does not hang, and several workers each run the
lifespan and answer small requests without Nagle's delay (uvicorn #3149).
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.serve import GRACE_SECONDS, HOST, SERVER
from harness.app_server import AppServer
from harness.client import create_ticket, sign_up
from harness.metrics import worker_of


def _server(tmp_path: Path, workers: int = 1) -> AppServer:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}",
        "CACHE_URL": "memory://",
    }
    return AppServer(tmp_path / "server.log", workers=workers, env=env)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AppServer]:
    with _server(tmp_path) as started:
        yield started


def open_stream(server: AppServer) -> socket.socket:
    """A raw ``GET /events``, its head read: the stream is open on the server."""
    sock = socket.create_connection((HOST, server.port), timeout=5)
    sock.sendall(f"GET /events HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the stream before its head"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


def next_event(lines: Iterator[str]) -> list[str]:
    """The lines of the next event (up to the blank line that ends it)."""
    event: list[str] = []
    for line in lines:
        if line:
            event.append(line)
        elif event:
            return event
    raise AssertionError(f"the stream ended after {event}")


def test_the_event_stream_is_sent_as_it_is_written(server: AppServer) -> None:
    with (
        httpx.Client(base_url=server.base_url, timeout=5) as http,
        http.stream("GET", "/events") as stream,
    ):
        sign_up(http)  # before the clock starts: a password hash takes its time
        lines = stream.iter_lines()
        started = time.monotonic()
        assert next(lines) == "retry: 2000"  # a few bytes, alone: nothing holds them back
        ticket_id = create_ticket(http, title="Streamed")
        event = next_event(lines)
        while f"ticket:{ticket_id}" not in event[2]:  # the sign-up's own, first
            event = next_event(lines)
        elapsed = time.monotonic() - started

    moved = {
        "ticket",
        f"ticket:{ticket_id}",
        "ticket?",
        "ticket?assignee_id=None",
        "ticket?status=OPEN",
        "ticket_count",
        "ticket_count:OPEN",
        "ticket_count?",
        "ticket_change",  # its history's first entry
        "ticket_change?",
        f"ticket_change?ticket_id={ticket_id}",
    }
    assert event[1] == "event: invalidate", event
    assert event[2].startswith("data: ")
    tags = set(json.loads(event[2][6:])["tags"])
    assert {tag for tag in tags if not tag.startswith("ticket_change:")} == moved
    assert len(tags - moved) == 1  # that entry's row
    assert elapsed < 3


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_with_event_streams_open_does_not_hang(tmp_path: Path, workers: int) -> None:
    server = _server(tmp_path, workers).start()
    streams = [open_stream(server) for _ in range(3)]
    try:
        started = time.monotonic()
        server.terminate()
        assert server.process is not None
        code = server.process.wait(timeout=GRACE_SECONDS + 10)
        elapsed = time.monotonic() - started
        for stream in streams:  # each stream was closed by the server
            stream.settimeout(5)
            while stream.recv(65536):
                pass
    finally:
        for stream in streams:
            stream.close()
        server.stop()

    # The streams end at the signal (app/stop_signal.py), not when the grace runs out.
    assert elapsed < GRACE_SECONDS, f"{SERVER} took {elapsed:.1f}s to stop"
    assert code in (0, -15), code  # a clean exit, or SIGTERM's default


def test_several_workers_each_run_the_lifespan_and_answer_at_once(tmp_path: Path) -> None:
    with _server(tmp_path, workers=2) as server:
        seen: dict[str, int] = {}
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=server.base_url, timeout=5) as http:  # a new connection
                worker = worker_of(http.get("/metrics").text)
                seen[worker] = http.get("/tickets").status_code  # its schema and cache are up
        with httpx.Client(base_url=server.base_url, timeout=5) as http:  # one keep-alive connection
            http.get("/fragments/counts").raise_for_status()
            times = []
            for _ in range(30):
                begun = time.perf_counter()
                http.get("/fragments/counts").raise_for_status()
                times.append(time.perf_counter() - begun)

    assert list(seen.values()) == [200, 200], seen
    # Nagle's algorithm left on costs ~40 ms per small keep-alive answer.
    assert statistics.median(times) < 0.02, f"median {statistics.median(times) * 1000:.1f} ms"
