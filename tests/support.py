"""Real servers for tests/ and bench/: one copy of what both need.

- ``SERVER`` and ``server_command`` (from ``app.serve``, which ``scripts/run``
  runs): the ASGI server, its flags, and the candidates the benchmark compares;
- ``AppServer``: that server (or another) in a process group of its own on a
  free 127.0.0.1 port, ready once every worker answers; stopped group and all;
- ``group_cpu_seconds``: CPU time of a process group, from ``/proc``;
- ``metrics`` and ``worker_of``: Prometheus text, parsed by prometheus_client;
- ``create_ticket`` (and ``create_ticket_async``): one ticket over HTTP, its id
  read from the list page as the public contract shows it;
- ``RedisServer``: a private ``redis-server`` that a test may kill and restart;
- ``TcpProxy``: a proxy to it that a test may cut (a partition) and heal;
- ``fresh_postgres_database``: a new database on a PostgreSQL server, dropped after.

It lives under tests/ so that scripts/check lints it with the tests; bench/
imports it as ``tests.support`` (both run from the repository's root).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # ships no type hints
import httpx
import redis
from markupsafe import escape
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from app.serve import APP, GRACE_SECONDS, HOST, SERVER, server_command

ROOT = Path(__file__).resolve().parent.parent

# -- processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _group_stats(pgid: int) -> Iterator[list[str]]:
    """The /proc/PID/stat fields after "(comm)" of each live process of group ``pgid``:
    state, ppid, pgrp, ... utime (the 14th field, index 11), stime, ... rss (24th, 21)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            yield fields


def group_cpu_seconds(pgid: int) -> float:
    """CPU time used so far by the live processes of group ``pgid`` (workers too)."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in _group_stats(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of the live processes of group ``pgid`` (workers too)."""
    return sum(int(fields[21]) for fields in _group_stats(pgid)) * os.sysconf("SC_PAGESIZE")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class AppServer:
    """An ASGI factory served by ``server`` (scripts/run's unless told) on a free port.

    The process leads a session, hence a process group, of its own: Ctrl-C
    reaches only us, and ``stop`` stops its workers too. ``start`` returns once
    ``ready`` answers from every worker (told apart by ``worker_of``), so each
    has run its lifespan. ``extra`` goes to the server's command line (before
    the app); ``cpus`` pins it with taskset; ``pidfile`` is written
    while it runs (scripts/bench kills that group if we die hard).
    """

    def __init__(
        self,
        log: Path,
        *,
        app: str = APP,
        server: str = SERVER,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        cpus: str | None = None,
        pidfile: Path | None = None,
        ready: str = "/metrics",
        extra: Sequence[str] = (),
    ) -> None:
        self.log = log
        self.extra = list(extra)
        self.app = app
        self.server = server
        self.workers = workers
        self.env = dict(env or {})
        self.cpus = cpus
        self.pidfile = pidfile
        self.ready = ready
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.terminated = False

    @property
    def command(self) -> list[str]:
        command = server_command(
            self.server, self.app, port=self.port, workers=self.workers, extra=self.extra
        )
        return ["taskset", "-c", self.cpus, *command] if self.cpus else command

    def start(self, timeout: float = 30.0) -> AppServer:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        if self.pidfile is not None:
            self.pidfile.write_text(str(self.process.pid))
        try:
            self._wait_ready(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        seen: set[str] = set()
        while True:  # a process start: poll until every worker answers, or it dies
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.server} exited at start; see {self.log}")
            try:
                # A new connection each time: the kernel hands it to any worker.
                answer = httpx.get(self.base_url + self.ready, timeout=1)
                answer.raise_for_status()
                seen.add(worker_of(answer.text) if self.workers > 1 else "")
                if len(seen) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.server}: {len(seen)} of {self.workers} workers answered; see {self.log}"
                )
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """CPU time used so far by its processes (the supervisor and every worker)."""
        return 0.0 if self.process is None else group_cpu_seconds(self.process.pid)

    def terminate(self) -> None:
        """SIGTERM, without waiting: lets several servers stop at once."""
        if self.process is not None and not self.terminated and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self, timeout: float = GRACE_SECONDS + 10) -> None:
        """SIGTERM and wait (open streams are cut after GRACE_SECONDS); then SIGKILL."""
        self.terminate()
        process, self.process = self.process, None
        if process is not None:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.wait()
            deadline = time.monotonic() + 5  # workers that outlived their supervisor
            while _group_alive(process.pid):
                if time.monotonic() > deadline:
                    _kill_group(process.pid)
                    break
                time.sleep(0.05)
        self.terminated = False
        if self.pidfile is not None:
            self.pidfile.unlink(missing_ok=True)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- Prometheus text ---------------------------------------------------------------


def metrics(text: str) -> dict[str, float]:
    """Every sample of ``text``: ``name`` or ``name{label="value",...}`` -> value."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def worker_of(text: str) -> str:
    """Which process answered this /metrics text: its counters' creation times."""
    created = sorted(
        f"{name}={value!r}" for name, value in metrics(text).items() if name.endswith("_created")
    )
    if not created:
        raise RuntimeError("no *_created samples in /metrics: cannot tell workers apart")
    return ",".join(created)


# -- tickets -----------------------------------------------------------------------

# The public contract: the list holds one element id="ticket-<id>" per ticket, with its title.
_ROW_ID = re.compile(r'id="ticket-([0-9a-f-]{36})"')


def ticket_id_in(page: str, title: str) -> str:
    """The id of the one ticket titled ``title`` on a list page."""
    shown = re.compile(rf">\s*{re.escape(str(escape(title)))}\s*<")
    rows = list(_ROW_ID.finditer(page))
    ends = [row.start() for row in rows[1:]] + [len(page)]
    found = {
        row[1] for row, end in zip(rows, ends, strict=True) if shown.search(page, row.end(), end)
    }
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} tickets titled {title!r} on the list page")
    return found.pop()


def _listed(created: httpx.Response) -> str:
    if created.status_code != 303 or created.headers["location"].startswith("/login"):
        raise RuntimeError(f"create answered {created.status_code}:\n{created.text[:500]}")
    return str(created.url.join(created.headers["location"]))


TEST_PASSWORD = "a test password, long enough"


def sign_up(client: httpx.Client, base_url: str = "", name: str = "Ada") -> str:
    """Make an account over HTTP (the server's first is the admin); ``client`` keeps
    its session cookie (sent to every port of the host). Returns the session token."""
    answer = client.post(f"{base_url}/signup", data=_account(name))
    return _session_of(answer)


async def sign_up_async(client: httpx.AsyncClient, base_url: str = "", name: str = "Ada") -> str:
    """``sign_up`` for an async client."""
    answer = await client.post(f"{base_url}/signup", data=_account(name))
    return _session_of(answer)


def _account(name: str) -> dict[str, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    return {"name": name, "email": email, "password": TEST_PASSWORD}


def _session_of(answer: httpx.Response) -> str:
    if answer.status_code != 303 or "session" not in answer.cookies:
        raise RuntimeError(f"sign-up answered {answer.status_code}:\n{answer.text[:500]}")
    return answer.cookies["session"]


def create_ticket(
    client: httpx.Client, base_url: str = "", title: str = "A ticket", content: str = "x"
) -> str:
    """Create a ticket as a plain form post would (303 to the list); return its id.

    The id is read from the list page the answer leads to (newest first), so
    ``title`` should be one no other ticket on that page has.
    """
    created = client.post(f"{base_url}/tickets", data={"title": title, "content": content})
    listing = client.get(_listed(created))
    listing.raise_for_status()
    return ticket_id_in(listing.text, title)


async def create_ticket_async(
    client: httpx.AsyncClient, base_url: str = "", title: str = "A ticket", content: str = "x"
) -> str:
    """``create_ticket`` for an async client."""
    created = await client.post(f"{base_url}/tickets", data={"title": title, "content": content})
    listing = await client.get(_listed(created))
    listing.raise_for_status()
    return ticket_id_in(listing.text, title)


# -- the edge cache ---------------------------------------------------------------------


class EdgeServer:
    """scripts/edge's Varnish on a free port of 127.0.0.1, in front of ``app_port``."""

    def __init__(self, directory: Path, app_port: int, cpus: str | None = None) -> None:
        self.directory = directory
        self.app_port = app_port
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.env = {"EDGE_CPUS": cpus} if cpus else {}

    def start(self) -> EdgeServer:
        command = ["bash", "scripts/edge", "start", str(self.directory), str(self.port)]
        subprocess.run(
            [*command, str(self.app_port)],
            check=True,
            cwd=ROOT,
            capture_output=True,
            env={**os.environ, **self.env},
        )
        return self

    def stop(self) -> None:
        subprocess.run(["bash", "scripts/edge", "stop", str(self.directory)], check=True, cwd=ROOT)

    def backend_requests(self) -> int:
        """How many requests the edge has sent to the app (varnishstat's MAIN.backend_req)."""
        shown = subprocess.run(
            ["varnishstat", "-n", str(self.directory / "varnish"), "-1", "-f", "MAIN.backend_req"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(shown.split()[1])  # "MAIN.backend_req  <value>  <rate>  <description>"


# -- a private redis-server ------------------------------------------------------------


class RedisServer:
    """``redis-server`` in the foreground of a subprocess; stop() and start() again at will."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: run scripts/services or scripts/test"
            )
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        command = [
            self.binary, "--port", str(self.port), "--bind", HOST,
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            "--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:  # a process start, not an event we could await
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class TcpProxy:
    """A TCP proxy from a free port of 127.0.0.1 to ``upstream``, which can be cut:
    what a network partition between one process and Redis looks like to it.

    It runs on an event loop of its own, in a thread, so that it forwards while
    the caller blocks (``AppServer.start`` does). ``cut()`` closes every open
    connection and refuses new ones; ``heal()`` listens again, on the same port.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> TcpProxy:
        self._thread.start()
        self.heal()
        return self

    def heal(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._forward, HOST, self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open.difference_update((writer, up_writer))


@asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of ``server_url``; dropped on exit."""
    server = make_url(server_url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        password=server.password,
        database="postgres",
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
