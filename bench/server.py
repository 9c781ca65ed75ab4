"""Start and stop one uvicorn server on a free loopback port.

Every server runs with the same settings (no access log, log level info for
the start-up lines only), so the rows of the table differ only by the ASGI app
they serve and, where a row says so, the number of workers. With ``workers >
1`` the command is ``python -m bench.nodelay`` (uvicorn's own command line with
TCP_NODELAY back on; see there) unless ``stock=True``.

Each server gets a session, hence a process group, of its own: stopping it
stops its workers too, and scripts/bench kills the group whose id is left in
a pid file if we die hard.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


STARTED = b"Application startup complete."


class Server:
    def __init__(
        self,
        factory: str,
        env: dict[str, str],
        tmp: Path,
        name: str,
        *,
        workers: int = 1,
        stock: bool = False,
    ) -> None:
        self.factory = factory
        self.env = env
        self.name = name
        self.workers = workers
        self.module = "uvicorn" if workers == 1 or stock else "bench.nodelay"
        self.port = free_port()
        self.log = tmp / f"{name}.log"
        # If we die hard, scripts/bench kills the process group of the pid left here.
        self.pidfile = tmp / f"{name}.pid"
        self.process: subprocess.Popen[bytes] | None = None
        self.terminated = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        command = [
            sys.executable, "-m", self.module, "--factory", self.factory,
            "--host", HOST, "--port", str(self.port), "--workers", str(self.workers),
            "--no-access-log", "--log-level", "info",
            # Keep idle connections longer than the default 5 s, so that pinned
            # connections stay with their worker between two measurements.
            "--timeout-keep-alive", "60",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session and process group (id = its pid): Ctrl-C
                # reaches only us, and we stop it, workers included, in order.
                start_new_session=True,
            )
        self.pidfile.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{self.log.read_text()[-2000:]}")
            try:
                httpx.get(self.url + "/metrics", timeout=1.0)
                # Every worker has run its lifespan start-up, not just the first.
                if self.log.read_bytes().count(STARTED) >= self.workers:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not answer within {timeout:.0f}s")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the processes of its group (supervisor and workers)."""
        if self.process is None:
            return 0.0
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # the process ended meanwhile
                continue
            # Fields after "(comm)": state, ppid, pgrp, ... utime (14th field), stime (15th).
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[2]) == self.process.pid:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def terminate(self) -> None:
        """Ask it to stop without waiting: uvicorn (or its supervisor, which stops
        its workers) exits on SIGTERM. Lets several servers shut down at once."""
        if self.process is not None and not self.terminated and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self) -> None:
        self.terminate()
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _kill_group(process.pid)
                    process.wait()
            # Workers (or multiprocessing's tracker) that outlived the supervisor.
            deadline = time.monotonic() + 5
            while _group_alive(process.pid):
                if time.monotonic() > deadline:
                    _kill_group(process.pid)
                    break
                time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextmanager
def serve(
    factory: str,
    env: dict[str, str],
    tmp: Path,
    name: str,
    *,
    workers: int = 1,
    stock: bool = False,
) -> Iterator[Server]:
    server = Server(factory, env, tmp, name, workers=workers, stock=stock)
    try:
        server.start()
        yield server
    finally:
        server.stop()
