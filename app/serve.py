"""How scripts/run serves the app: the ASGI server, its flags, the candidates.

    python -m app.serve [--reload] [SERVER ARGS...]     # what scripts/run runs

The server is the fastest in ``scripts/bench`` that passes the whole suite;
the benchmark measures every ``SERVERS`` entry side by side, and the browser
and cluster tests start ``SERVER`` (harness/app_server.py), so the suite
tests what runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

HOST = "127.0.0.1"
APP = "app.main:create_app"  # a factory: the lifespan migrates the schema and starts the cache

# A stream still open this many seconds after SIGTERM no longer holds a shutdown:
# granian kills the worker (--workers-kill-timeout), uvicorn cancels the request
# (--timeout-graceful-shutdown), hypercorn likewise (--graceful-timeout). The
# app's own event streams end at the signal (app/stop_signal.py); this bounds
# any other request still running.
GRACE_SECONDS = 5


@dataclass(frozen=True)
class Kind:
    """One way to serve an ASGI factory: what ``server_command`` builds for it."""

    name: str
    label: str
    module: str  # python -m <module>


SERVERS = {
    kind.name: kind
    for kind in (
        Kind("granian", "granian asgi+uvloop", "granian"),
        Kind("uvicorn", "uvicorn httptools+uvloop", "uvicorn"),
        Kind("uvicorn-h11", "uvicorn h11+asyncio", "uvicorn"),
        Kind("hypercorn", "hypercorn uvloop", "hypercorn"),
    )
}
# What scripts/run starts and AppServer starts by default: the fastest in
# scripts/bench that passes the whole suite (see README, "Benchmark").
SERVER = "uvicorn"


def server_command(
    server: str,
    app: str = APP,
    *,
    host: str = HOST,
    port: int = 8000,
    workers: int = 1,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line that serves the ASGI factory ``app`` ("module:function")."""
    kind = SERVERS[server]
    command = [sys.executable, "-m", kind.module]
    many = ["--workers", str(workers)] if workers != 1 else []
    if server == "granian":
        command += [
            "--interface", "asgi", "--loop", "uvloop", "--factory",
            "--host", host, "--port", str(port), *many, "--no-access-log",
            "--workers-kill-timeout", str(GRACE_SECONDS),
        ]  # fmt: skip
    elif server in ("uvicorn", "uvicorn-h11"):
        http, loop = ("httptools", "uvloop") if server == "uvicorn" else ("h11", "asyncio")
        command += [
            "--factory", "--host", host, "--port", str(port), *many, "--no-access-log",
            "--http", http, "--loop", loop,
            "--timeout-graceful-shutdown", str(GRACE_SECONDS),
            # X-Forwarded-For is the app's to believe or not (app/clients.py):
            # uvicorn's own handling believed it from any loopback client.
            "--no-proxy-headers",
        ]  # fmt: skip
    else:  # hypercorn calls "module:function()" itself; no access log unless asked
        command += [
            "--worker-class", "uvloop", "--bind", f"{host}:{port}", *many,
            "--graceful-timeout", str(GRACE_SECONDS),
        ]  # fmt: skip
        app += "()"
    return [*command, *extra, app]


def serve(argv: Sequence[str]) -> None:
    """Replace this process with the server of scripts/run on ``HOST``:``PORT``.

    ``--reload`` (anywhere in ``argv``) serves with uvicorn and its auto-reload
    instead, for development; every other argument goes to the server as is.
    """
    args = list(argv)
    host, port = os.environ.get("HOST", HOST), int(os.environ.get("PORT", "8000"))
    if "--reload" in args:
        args.remove("--reload")
        watch = [arg for folder in ("app", "templates") for arg in ("--reload-dir", folder)]
        command = server_command("uvicorn", host=host, port=port, extra=["--reload", *watch, *args])
    else:
        command = server_command(SERVER, host=host, port=port, extra=args)
    os.execv(command[0], command)


if __name__ == "__main__":
    serve(sys.argv[1:])
