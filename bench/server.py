"""Start and stop one uvicorn process on a free loopback port.

Every server runs with the same settings (one worker, no access log), so the
rows of the table differ only by the ASGI app they serve.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, factory: str, env: dict[str, str], tmp: Path, name: str) -> None:
        self.factory = factory
        self.env = env
        self.name = name
        self.port = free_port()
        self.log = tmp / f"{name}.log"
        # scripts/bench kills whatever pid is left in these files if we die hard.
        self.pidfile = tmp / f"{name}.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        command = [
            sys.executable, "-m", "uvicorn", "--factory", self.factory,
            "--host", HOST, "--port", str(self.port),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches only us, and we stop it in order.
                start_new_session=True,
            )
        self.pidfile.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{self.log.read_text()[-2000:]}")
            try:
                httpx.get(self.url + "/metrics", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.pidfile.unlink(missing_ok=True)


@contextmanager
def serve(factory: str, env: dict[str, str], tmp: Path, name: str) -> Iterator[Server]:
    server = Server(factory, env, tmp, name)
    try:
        server.start()
        yield server
    finally:
        server.stop()
