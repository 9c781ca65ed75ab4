"""Run wrk against one URL for a bounded time and parse what it prints."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# A wrk script that makes every request unlike the others (a header of its own).
UNIQUE = Path(__file__).with_name("unique.lua")
# One that gives every request a cookie of its own instead: none is a repeat.
UNIQUE_COOKIE = Path(__file__).with_name("unique_cookie.lua")
_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors
    output: str


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {percentile}% latency in wrk output:\n{text}")
    return float(match[1]) * _UNIT_MS[match[2]]


def run(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    headers: Mapping[str, str] | None = None,
    cpus: str | None = None,
    script: Path | None = None,
) -> Load:
    """``wrk`` on ``url``; ``headers`` go with every request, ``cpus`` pins it
    (taskset), ``script`` is a wrk Lua script (``UNIQUE``)."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
        "--timeout", "10s", "--latency",
        *(arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")),
        *(["-s", str(script)] if script else []),
        url,
    ]  # fmt: skip
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    # wrk stops itself after -d; the timeout only guards against a hung wrk.
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30)
    text = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{text}\n{done.stderr}")
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", text, re.MULTILINE)
    if rps is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    if int(total[1]) == 0:
        raise RuntimeError(f"wrk completed no request:\n{text}\n{done.stderr}")
    return Load(
        requests_per_s=float(rps[1]),
        p50_ms=_latency_ms(text, "50"),
        p99_ms=_latency_ms(text, "99"),
        requests=int(total[1]),
        errors=errors,
        output=text,
    )
