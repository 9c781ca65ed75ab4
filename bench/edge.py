"""The edge cache (scripts/edge's Varnish) next to nginx serving the same bytes
as a static file: the machine's ceiling for one cached page.

Both are pinned to the servers' CPU, wrk to the other; rows are loaded in
interleaved rounds (medians), plain and with ``Accept-Encoding: gzip`` (the
edge keeps pages gzipped; nginx sends a ``.gz`` it has beside the file). Then
a write through the edge and the fresh list page after it, timed.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import wrk
from tests.support import AppServer, EdgeServer, create_ticket, free_port, sign_up

GZIP = {"Accept-Encoding": "gzip"}
NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    gzip_static on;
    types {{ text/html html; }}
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = /tickets {{ default_type text/html; try_files /tickets.html =404; }}
    }}
}}
"""


@dataclass
class Loaded:
    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    loads: list[wrk.Load] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(load.requests_per_s for load in self.loads)

    @property
    def p50_ms(self) -> float:
        return statistics.median(load.p50_ms for load in self.loads)


@dataclass
class EdgeFigures:
    rows: list[Loaded]
    fresh_ms: list[float]
    person_ms: list[float]  # a signed-in person's list page through the edge
    size: int

    def ratio(self, encoding: str) -> float:
        edge, nginx = (row for row in self.rows if row.name.endswith(encoding))
        return edge.rps / nginx.rps


def measure(
    env: dict[str, str], tmp: Path, *, cpus: str | None, wrk_cpus: str | None,
    duration: int, connections: int, rounds: int, writes: int,
) -> EdgeFigures:  # fmt: skip
    app = AppServer(tmp / "edge-app.log", env=dict(env), cpus=cpus, pidfile=tmp / "edge-app.pid")
    edge = EdgeServer(tmp / "edge", app.port, cpus=cpus)
    app.env["EDGE_PORT"] = str(edge.port)
    nginx: subprocess.Popen[bytes] | None = None
    try:
        edge.start()
        app.start()
        page = _warm(edge.base_url)
        nginx, nginx_url = _nginx(tmp / "nginx", page, cpus)
        rows = [
            Loaded("edge, identity", edge.base_url + "/tickets"),
            Loaded("nginx static file, identity", nginx_url),
            Loaded("edge, gzip", edge.base_url + "/tickets", GZIP),
            Loaded("nginx static file, gzip", nginx_url, GZIP),
        ]
        for _ in range(rounds):
            for row in rows:
                row.loads.append(
                    wrk.run(row.url, duration=duration, connections=connections,
                            headers=row.headers, cpus=wrk_cpus)
                )  # fmt: skip
        fresh, people = _write_then_fresh(edge.base_url, writes)
        return EdgeFigures(rows, fresh, people, len(page))
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        app.stop()
        edge.stop()


def _warm(edge_url: str) -> bytes:
    """The page as the edge sends it to a visitor (an edge HIT, checked)."""
    identity = {"Accept-Encoding": "identity"}
    with httpx.Client(base_url=edge_url, timeout=30) as http:
        http.get("/tickets", headers=GZIP)  # the edge keeps one object per coding
        http.get("/tickets", headers=identity)
        answer = http.get("/tickets", headers=identity)
    if not answer.headers.get("cache-status", "").endswith("edge; hit"):
        raise RuntimeError(f"edge: GET /tickets: Cache-Status {answer.headers.get('cache-status')}")
    return answer.content


def _nginx(directory: Path, page: bytes, cpus: str | None) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    (directory / "www").mkdir(parents=True)
    (directory / "tmp").mkdir()
    (directory / "www" / "tickets.html").write_bytes(page)
    (directory / "www" / "tickets.html.gz").write_bytes(gzip.compress(page, 6))
    port = free_port()
    conf = directory / "nginx.conf"
    # As root, its worker too: the files are in this run's private folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(dir=directory, port=port, user=user))
    command = [binary, "-c", str(conf), "-e", str(directory / "nginx-error.log")]
    process = subprocess.Popen(["taskset", "-c", cpus, *command] if cpus else command)
    url = f"http://127.0.0.1:{port}/tickets"
    deadline = time.monotonic() + 10
    while True:  # a process start, not an event we could await
        try:
            if httpx.get(url, headers={"Accept-Encoding": "identity"}).content == page:
                return process, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            log = (directory / "nginx-error.log").read_text() if process.poll() else ""
            raise RuntimeError(f"nginx did not serve the page on {url}\n{log}")
        time.sleep(0.05)


def _write_then_fresh(edge_url: str, writes: int) -> tuple[list[float], list[float]]:
    """A status change through the edge, then the list through it as a visitor
    reads it: the first read must show it (any later one would be stale), timed.
    And the writer's own page (a person's: its holes filled by the edge, one
    request to the app each), timed apart."""
    timings, people = [], []
    with (
        httpx.Client(base_url=edge_url, timeout=30) as http,
        httpx.Client(base_url=edge_url, timeout=30) as visitor,
    ):
        sign_up(http, name="Bench")
        ticket_id = create_ticket(http, title="Written through the edge")
        status = "OPEN"
        for _ in range(writes):
            status = "DONE" if status == "OPEN" else "OPEN"
            started = time.perf_counter()
            answer = http.post(f"/tickets/{ticket_id}/update", data={"status": status})
            page = visitor.get("/tickets")
            timings.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            http.get("/tickets")
            people.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 303:
                raise RuntimeError(f"update through the edge answered {answer.status_code}")
            shown = re.search(
                rf'id="ticket-{ticket_id}" class="ticket-row status-(\w+)"', page.text
            )
            if shown is None or shown[1] != status.lower():
                raise RuntimeError("a stale list page through the edge after an answered write")
    return timings, people


def report(figures: EdgeFigures) -> None:
    print(f"edge (Varnish, scripts/edge) and nginx, the same {figures.size:,}-byte page:")
    for row in figures.rows:
        print(f"  {row.name:<44}{row.rps:>9,.0f} req/s  p50 {row.p50_ms:6.2f} ms")
    for encoding in ("identity", "gzip"):
        ratio = figures.ratio(encoding)
        verdict = "ok" if ratio >= 0.8 else "MISSED"
        print(f"  edge / nginx, {encoding:<36}{ratio:8.2f}   {verdict} (target >= 0.8)")
    p50 = statistics.median(figures.fresh_ms)
    verdict = "ok" if p50 <= 10 else "MISSED"
    print(
        f"  write -> fresh list page through the edge: p50 {p50:.2f} ms   {verdict} "
        f"(target <= 10; {len(figures.fresh_ms)} writes, each first read fresh)"
    )
    print(
        f"  a person's list page through the edge (its holes asked of the app one by one): "
        f"p50 {statistics.median(figures.person_ms):.2f} ms"
    )
