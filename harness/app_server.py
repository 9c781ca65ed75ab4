"""The app as scripts/run serves it (``app.serve``), as a real process for a test or a row.

``ThreadedServer`` serves an app object on a thread of the caller instead.

``AppServer`` starts it (or another ASGI server of ``app.serve.SERVERS``) in a
process group of its own on a free port of 127.0.0.1, returns once every worker
answers, and stops it group and all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app.serve import APP, GRACE_SECONDS, HOST, SERVER, server_command
from app.settings import ROOT
from harness.metrics import worker_of
from harness.processes import free_port, group_alive, group_cpu_seconds, kill_group


class AppServer:
    """An ASGI factory served by ``server`` (scripts/run's unless told) on a free port.

    The process leads a session, hence a process group, of its own: Ctrl-C
    reaches only us, and ``stop`` stops its workers too. ``start`` returns once
    ``ready`` answers from every worker (told apart by ``worker_of``), so each
    has run its lifespan. ``extra`` goes to the server's command line (before
    the app); ``cpus`` pins it with taskset; ``pidfile`` is written
    while it runs (scripts/bench kills that group if we die hard); ``root``
    is the checkout it serves (another revision's, to compare with).
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
        root: Path = ROOT,
    ) -> None:
        self.log = log
        self.root = root
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
                cwd=self.root,
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
        # One client for the whole wait: each httpx.get makes one of its own,
        # TLS context included, 30 ms of CPU taken from the server starting.
        # No keep-alive: a new connection each time, which the kernel hands to
        # any worker.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.base_url, timeout=1, limits=limits) as client:
            while True:  # a process start: poll until every worker answers, or it dies
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.server} exited at start; see {self.log}")
                try:
                    answer = client.get(self.ready)
                    answer.raise_for_status()
                    seen.add(worker_of(answer.text) if self.workers > 1 else "")
                    if len(seen) >= self.workers:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.server}: {len(seen)} of {self.workers} workers answered;"
                        f" see {self.log}"
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
                kill_group(process.pid)
                process.wait()
            deadline = time.monotonic() + 5  # workers that outlived their supervisor
            while group_alive(process.pid):
                if time.monotonic() > deadline:
                    kill_group(process.pid)
                    break
                time.sleep(0.05)
        self.terminated = False
        if self.pidfile is not None:
            self.pidfile.unlink(missing_ok=True)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ThreadedServer:
    """An app object served by uvicorn on a thread of this process, on a free port:
    for a test that reaches into the app it serves (an injected slow read)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        config = uvicorn.Config(app, host=HOST, port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # a server start, not an event we could await
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the threaded server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=GRACE_SECONDS + 10)
