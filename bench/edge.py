"""The edge cache (scripts/edge's Varnish) next to nginx serving the same bytes
as a static file: the machine's ceiling for one cached page.

Both are pinned to the servers' CPU, wrk to the other; rows are loaded in
interleaved rounds (medians), plain and with ``Accept-Encoding: gzip`` (the
edge keeps pages gzipped; nginx sends a ``.gz`` beside the file, which holds
the edge's own gzipped bytes). Then a write through the edge and the fresh
list page after it, timed. And, with a Redis store (scripts/bench starts
one), the renders one invalidation costs when 4 worker processes stand behind
the edge and 64 readers come through it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import pin, wrk
from bench.live import RENDERS
from bench.plain import Plain, text
from bench.redis_rows import with_prefix
from harness.app_server import AppServer
from harness.client import create_ticket, create_ticket_async, sign_up, sign_up_async
from harness.processes import free_port
from harness.servers import EdgeServer

GZIP = {"Accept-Encoding": "gzip"}
# What the readers ask for: the edge keeps one object per encoding, each fetched
# from the app once per invalidation, and all three made by one render there.
CODINGS = ("identity", "gzip", "br")
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


@dataclass(frozen=True)
class EdgeRenders:
    """Invalidations with ``workers`` processes (one Redis store) behind the edge."""

    workers: int
    readers: int
    rounds: int
    renders: float  # per invalidation, summed over the workers' /metrics
    fetches: float  # the edge's reads from the app per invalidation (less the write)
    stale: int  # readers' answers that did not show the write (must be 0)


@dataclass
class EdgeFigures:
    rows: list[Loaded]
    fresh_ms: list[float]
    person_ms: list[float]  # a signed-in person's list page through the edge
    size: int
    # (1 worker, 4 workers) behind the edge; None without a Redis store.
    renders: tuple[EdgeRenders, EdgeRenders] | None = None

    def ratio(self, encoding: str) -> float:
        edge, nginx = (row for row in self.rows if row.name.endswith(encoding))
        return edge.rps / nginx.rps


def measure(
    env: dict[str, str], tmp: Path, *, cpus: str | None, wrk_cpus: str | None,
    duration: int, connections: int, rounds: int, writes: int,
) -> EdgeFigures:  # fmt: skip
    app = AppServer(tmp / "edge-app.log", env=dict(env), cpus=cpus, pidfile=tmp / "edge-app.pid")
    edge = EdgeServer(tmp / "edge", app.port, cpus=cpus)
    app.env.update(edge.app_env())
    nginx: subprocess.Popen[bytes] | None = None
    try:
        edge.start()
        app.start()
        page, gzipped = _warm(edge.base_url)
        nginx, nginx_url = _nginx(tmp / "nginx", page, gzipped, cpus)
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


def _warm(edge_url: str) -> tuple[bytes, bytes]:
    """The page as the edge sends it to a visitor, plain and gzipped, byte for
    byte (edge HITs, checked): what nginx is given to serve."""
    sent = []
    with httpx.Client(base_url=edge_url, timeout=30) as http:
        for headers in ({"Accept-Encoding": "identity"}, GZIP):  # one edge object per encoding
            http.get("/tickets", headers=headers)
            with http.stream("GET", "/tickets", headers=headers) as answer:
                status = answer.headers.get("cache-status", "")
                if not status.endswith("edge; hit"):
                    raise RuntimeError(f"edge: GET /tickets {headers}: Cache-Status {status}")
                sent.append(b"".join(answer.iter_raw()))
    return sent[0], sent[1]


def _nginx(
    directory: Path, page: bytes, gzipped: bytes, cpus: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    (directory / "www").mkdir(parents=True)
    (directory / "tmp").mkdir()
    (directory / "www" / "tickets.html").write_bytes(page)
    (directory / "www" / "tickets.html.gz").write_bytes(gzipped)
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
    And the writer's own page (a person's: the edge asks the app for its
    account hole and fills the Delete holes itself), timed apart."""
    timings, people = [], []
    with httpx.Client(base_url=edge_url, timeout=30) as http:
        sign_up(http, name="Bench")
        ticket_id = create_ticket(http, title="Written through the edge")
        writer, visitor = Plain(edge_url, dict(http.cookies.items())), Plain(edge_url)
    try:
        status = "OPEN"
        for _ in range(writes):
            status = "DONE" if status == "OPEN" else "OPEN"
            started = time.perf_counter()
            updated, _, _ = writer.send("POST", f"/tickets/{ticket_id}/update", {"status": status})
            _, encoding, page = visitor.send("GET", "/tickets")
            timings.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            own, own_coding, own_page = writer.send("GET", "/tickets")
            people.append((time.perf_counter() - started) * 1000)
            if updated != 303:
                raise RuntimeError(f"update through the edge answered {updated}")
            if own != 200 or "Sign out" not in text(own_coding, own_page):
                raise RuntimeError(f"the writer's own list page through the edge: {own}")
            if _shown_status(text(encoding, page), ticket_id) != status.lower():
                raise RuntimeError("a stale list page through the edge after an answered write")
    finally:
        writer.close()
        visitor.close()
    return timings, people


def renders_per_invalidation(
    env: dict[str, str], tmp: Path, *, redis_url: str, workers: int, readers: int, rounds: int
) -> EdgeRenders:
    """Each round: one status change through the edge, of a ticket on the
    first page (so the page, its counts, the list window and the row move),
    then ``readers`` visitors at once through it (three encodings, so three edge
    objects). The edge asks the app for each object once (it collapses the
    rest); the app's workers share a Redis store, so each moved entry renders
    once in the cluster: as many renders as one worker makes. Every reader
    must see the write."""
    cache_url = with_prefix(redis_url, f"bench-edge-{os.getpid()}-{workers}w")
    name = f"edge-{workers}w"
    app = AppServer(
        tmp / f"{name}.log", workers=workers, env={**env, "CACHE_URL": cache_url},
        pidfile=tmp / f"{name}.pid",
    )  # fmt: skip
    edge = EdgeServer(tmp / name, app.port)
    app.env.update(edge.app_env())
    try:
        edge.start()
        app.start()
        return asyncio.run(_invalidations(app, edge, readers, rounds))
    finally:
        app.stop()
        edge.stop()


async def _invalidations(
    app: AppServer, edge: EdgeServer, readers: int, rounds: int
) -> EdgeRenders:
    encodings = itertools.cycle(CODINGS)
    clients = [
        httpx.AsyncClient(
            base_url=edge.base_url, timeout=30, headers={"Accept-Encoding": next(encodings)}
        )
        for _ in range(readers)
    ]
    async with httpx.AsyncClient(base_url=edge.base_url, timeout=30) as writer:
        try:
            await sign_up_async(writer, name="Writer")
            ticket_id = await create_ticket_async(
                writer, title=f"Changed behind {app.workers} workers"
            )
            await asyncio.gather(*(client.get("/tickets") for client in clients))  # warm
            renders_before = await pin.scrape_async(app.base_url, app.workers, (RENDERS,))
            fetches_before = edge.backend_requests()
            stale = 0
            for i in range(rounds):
                status = "DONE" if i % 2 == 0 else "OPEN"
                answer = await writer.post(f"/tickets/{ticket_id}/update", data={"status": status})
                if answer.status_code != 303:
                    raise RuntimeError(f"update through the edge answered {answer.status_code}")
                pages = await asyncio.gather(*(client.get("/tickets") for client in clients))
                stale += sum(
                    _shown_status(page.text, ticket_id) != status.lower() for page in pages
                )
            renders_after = await pin.scrape_async(app.base_url, app.workers, (RENDERS,))
            if renders_after.keys() != renders_before.keys():
                raise RuntimeError("the workers behind the edge changed (one restarted?)")
            renders = (
                sum(
                    counters[RENDERS] - renders_before[worker][RENDERS]
                    for worker, counters in renders_after.items()
                )
                / rounds
            )
            # The write itself went through to the app too (a pass).
            fetches = (edge.backend_requests() - fetches_before) / rounds - 1
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))
    return EdgeRenders(app.workers, readers, rounds, renders, fetches, stale)


def _shown_status(page: str, ticket_id: str) -> str | None:
    shown = re.search(rf'id="ticket-{ticket_id}" class="ticket-row status-(\w+)"', page)
    return None if shown is None else shown[1]


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
        f"  a person's list page through the edge, after the write: "
        f"p50 {statistics.median(figures.person_ms):.2f} ms (the app asked for the shared part, "
        f"a HIT there, and the account hole; the Delete holes are the edge's)"
    )
    if figures.renders is not None:
        one, many = figures.renders
        stale = one.stale + many.stale
        verdict = "ok" if many.renders == one.renders and stale == 0 else "MISSED"
        print(
            f"  renders per invalidation behind the edge, {many.readers} readers through it "
            f"({', '.join(CODINGS)}), one Redis store: {many.workers} workers {many.renders:.2f}, "
            f"1 worker {one.renders:.2f}   {verdict} (target: the same; summed over the workers' "
            f"/metrics: page, counts, list window, row); the edge asked the app "
            f"{many.fetches:.2f} times (one per encoding); stale answers {stale}; "
            f"mean of {many.rounds} invalidations"
        )
