"""The servers a run needs besides the app, each private to it.

- ``EdgeServer``: scripts/edge's Varnish in front of an app;
- ``RedisServer``: a ``redis-server`` that a test may kill and restart;
- ``TcpProxy``: a proxy to it that a test may cut (a partition) and heal;
- ``fresh_postgres_database``: a new database on a PostgreSQL server (empty, or
  a copy of a template), dropped after; ``create_postgres_database`` and
  ``drop_postgres_database`` for one that outlives an event loop.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # ships no type hints
import redis
from sqlalchemy.engine import make_url

from app.serve import HOST
from app.settings import ROOT
from harness.processes import free_port


class EdgeServer:
    """scripts/edge's Varnish on a free port of 127.0.0.1, in front of ``app_port``.

    Its ``secret`` (``EDGE_SECRET``) works both ways, as scripts/run's does:
    it answers purges and probes that carry it only, and marks its requests
    with it, so an app started with ``app_env()`` purges it and believes its
    ``X-Forwarded-For`` (app/clients.py). ``stall`` and ``resume`` stop and
    continue its cache process (SIGSTOP, SIGCONT): an edge that hangs.
    """

    def __init__(self, directory: Path, app_port: int, cpus: str | None = None) -> None:
        self.directory = directory
        self.app_port = app_port
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.secret = secrets.token_hex(16)
        self.env = {"EDGE_SECRET": self.secret, **({"EDGE_CPUS": cpus} if cpus else {})}

    def app_env(self, port: int | None = None) -> dict[str, str]:
        """What an app behind it needs to purge it (at ``port``: a proxy's, say)."""
        return {"EDGE_PORT": str(port or self.port), "EDGE_SECRET": self.secret}

    def child_pid(self) -> int:
        """The cache process (varnishd's manager starts one child, which serves)."""
        manager = (self.directory / "varnishd.pid").read_text().strip()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            if text[text.rindex(")") + 2 :].split()[1] == manager:
                return int(stat.parent.name)
        raise RuntimeError("varnishd has no child process")

    def stall(self) -> int:
        pid = self.child_pid()
        os.kill(pid, signal.SIGSTOP)
        return pid

    def resume(self, pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

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


async def _admin(server_url: str) -> Any:
    """A connection to the server's ``postgres`` database, as ``server_url``'s role."""
    server = make_url(server_url)
    return await asyncpg.connect(
        host=server.host,
        port=server.port,
        user=server.username,
        password=server.password,
        database="postgres",
    )


async def create_postgres_database(server_url: str, template: str | None = None) -> str:
    """A new database on the server of ``server_url`` (its URL): empty, or a copy
    of the database named ``template`` (which nobody may be connected to)."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    copy = "" if template is None else f' TEMPLATE "{template}"'
    admin = await _admin(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copy} STRATEGY FILE_COPY')
    finally:
        await admin.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    admin = await _admin(url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_postgres_database(
    server_url: str, template: str | None = None
) -> AsyncIterator[str]:
    """A new database on the server of ``server_url``, dropped on exit: empty,
    or a copy of the database named ``template``."""
    url = await create_postgres_database(server_url, template)
    try:
        yield url
    finally:
        await drop_postgres_database(url)
