"""Free ports and process groups: their liveness, CPU time and memory, from ``/proc``.

A server under test runs in a process group of its own (a session), so that
its workers are counted, and stopped, with it.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from app.serve import HOST


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


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs: a zombie that init has not
    reaped yet (it may take a second or two) does not."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(fields[0] != "Z" for fields in _group_stats(pgid))


def kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
