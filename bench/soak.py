"""A bounded soak: many clients write and read through two app processes over
Redis and PostgreSQL while the run cuts one process off from Redis, restarts
Redis, and kill -9s a process (then starts it again). Every read is checked
against the log of acknowledged writes.

With ``--edge``, Varnish (scripts/edge) stands in front of the first process,
both processes purge it, and a third of the reads and writes go through it;
the run also stalls it (SIGSTOP of its cache process) for a while and
resumes it. Reads through it are checked against the same bound.

Each client owns the tickets it creates (so its writes to them are in order),
writes them through either process, and reads anyone's tickets through either
process, both the ticket's page and a search that lists it. A read that began
more than BOUND after a write was acknowledged must show that write (or a
later one): a ticket's title carries its version. It prints:

    reads checked, stale reads beyond the bound, 5xx, acknowledged writes lost

and exits 1 unless the last three are 0. Run by scripts/soak (which starts
PostgreSQL); the Redis it restarts is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.app_server import AppServer
from harness.client import sign_up_async
from harness.servers import EdgeServer, RedisServer, TcpProxy, fresh_postgres_database

BOUND = 1.0  # seconds: the public contract's staleness bound
CHECKS_AT_ONCE = 8  # tickets read at once by the final check
DELETED = -1  # the "version" of a deleted ticket
TITLE = re.compile(r"soak (\w+) v(\d+)")


@dataclass
class Log:
    """What was acknowledged, when: per ticket, (answer time, version or DELETED)."""

    acked: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # ticket id -> its search word

    def required(
        self, ticket_id: str, read_started: float, bound: float = BOUND
    ) -> tuple[float, int] | None:
        """The last write a read that began at ``read_started`` must show (or a
        later one): (its answer time, its version)."""
        due = [(at, v) for at, v in self.acked.get(ticket_id, []) if at + bound < read_started]
        return due[-1] if due else None


@dataclass
class Tally:
    reads: int = 0
    stale: int = 0
    server_errors: int = 0
    unreachable: int = 0  # refused while a process was down: no answer, no 5xx
    writes: int = 0
    lost: int = 0
    longest_stale: float = 0.0  # seconds: the oldest write a read did not show yet
    edge_reads: int = 0  # of the reads checked, those made through the edge
    edge_stale: int = 0
    notes: list[str] = field(default_factory=list)


def done(answer: httpx.Response | None) -> bool:
    """A write's answer that says it was made (not a 303 to the login page)."""
    return (
        answer is not None
        and answer.status_code == 303
        and not answer.headers.get("location", "").startswith("/login")
    )


class Soak:
    def __init__(
        self,
        servers: list[AppServer],
        clients: int,
        duration: float,
        edge: EdgeServer | None = None,
    ) -> None:
        self.servers = servers
        self.edge = edge
        # Where requests go: either process, or the edge in front of the first.
        self.targets = [server.base_url for server in servers]
        if edge is not None:
            self.targets.append(edge.base_url)
        self.clients = clients
        self.duration = duration
        self.log = Log()
        self.tally = Tally()
        self.deadline = 0.0

    async def call(
        self, http: httpx.AsyncClient, method: str, path: str, **kw: object
    ) -> httpx.Response | None:
        """One request to either process (or the edge); None when it could not be reached."""
        target = random.choice(self.targets)
        try:
            answer = await http.request(method, target + path, **kw)  # type: ignore[arg-type]
        except httpx.TransportError:
            self.tally.unreachable += 1
            return None
        if answer.status_code >= 500:
            self.tally.server_errors += 1
            self.tally.notes.append(f"{answer.status_code} {method} {target}{path}")
        return answer

    async def client(self, http: httpx.AsyncClient) -> None:
        """A signed-in person's writes and reads until the deadline. Each deletes
        only tickets of their own, as an author may."""
        mine: dict[str, int] = {}  # my tickets -> their last version written
        while time.monotonic() < self.deadline:
            roll = random.random()
            if roll < 0.1 or not mine:
                await self.create(http, mine)
            elif roll < 0.3:
                await self.update(http, mine)
            elif roll < 0.35:
                await self.delete(http, mine)
            else:
                await self.read(http)

    async def create(self, http: httpx.AsyncClient, mine: dict[str, int]) -> None:
        token = uuid.uuid4().hex[:10]
        data = {"title": f"soak {token} v0", "content": "made by the soak"}
        answer = await self.call(http, "POST", "/tickets", data=data)
        if not done(answer):
            return
        # Its id, from a search for its word (never asked before: never cached).
        for _ in range(5):
            listing = await self.call(http, "GET", "/tickets", params={"q": token})
            found = listing is not None and re.search(r'id="ticket-([0-9a-f-]{36})"', listing.text)
            if found:
                ticket_id = found.group(1)
                self.ack(ticket_id, 0)
                self.log.tokens[ticket_id] = token
                mine[ticket_id] = 0
                return

    async def update(self, http: httpx.AsyncClient, mine: dict[str, int]) -> None:
        ticket_id = random.choice(list(mine))
        version = mine[ticket_id] + 1
        mine[ticket_id] = version  # taken even if unanswered: it may have committed
        title = f"soak {self.log.tokens[ticket_id]} v{version}"
        answer = await self.call(
            http, "POST", f"/tickets/{ticket_id}/update", data={"title": title}
        )
        if done(answer):
            self.ack(ticket_id, version)

    async def delete(self, http: httpx.AsyncClient, mine: dict[str, int]) -> None:
        ticket_id = random.choice(list(mine))
        del mine[ticket_id]
        answer = await self.call(http, "POST", f"/tickets/{ticket_id}/delete")
        if done(answer):
            self.ack(ticket_id, DELETED)

    def ack(self, ticket_id: str, version: int) -> None:
        self.log.acked.setdefault(ticket_id, []).append((time.monotonic(), version))
        self.tally.writes += 1

    async def read(self, http: httpx.AsyncClient) -> None:
        ticket_id = random.choice(list(self.log.acked))
        started = time.monotonic()
        required = self.log.required(ticket_id, started)
        latest = self.log.required(ticket_id, started, bound=0.0)
        if random.random() < 0.5:
            answer = await self.call(http, "GET", f"/tickets/{ticket_id}")
            shown = None if answer is None else _version_on_page(answer)
        else:
            word = self.log.tokens[ticket_id]
            answer = await self.call(http, "GET", "/tickets", params={"q": word})
            shown = None if answer is None else _version_in_list(answer, ticket_id)
        if answer is None or answer.status_code >= 500 or latest is None:
            return
        if _behind(shown, latest[1]):  # stale, perhaps within the bound: how stale?
            self.tally.longest_stale = max(self.tally.longest_stale, started - latest[0])
        if required is None:
            return
        self.tally.reads += 1
        through_edge = self.edge is not None and answer.url.port == self.edge.port
        self.tally.edge_reads += through_edge
        if _behind(shown, required[1]):
            self.tally.stale += 1
            self.tally.edge_stale += through_edge
            self.tally.notes.append(
                f"stale: {ticket_id} showed {shown}, owed {required[1]}"
                + (" (through the edge)" if through_edge else "")
            )

    async def check_every_write(self) -> None:
        """After the run: every acknowledged write is there (read through both
        processes), a few tickets at a time (one after another took 1.5 s)."""
        turns = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def check(http: httpx.AsyncClient, ticket_id: str, last: int) -> None:
            async with turns:
                for server in self.servers:
                    answer = await http.get(f"{server.base_url}/tickets/{ticket_id}")
                    if _behind(_version_on_page(answer), last):
                        self.tally.lost += 1
                        self.tally.notes.append(
                            f"lost: {ticket_id} shows {answer.status_code}, acked v{last}"
                        )
                        return

        async with httpx.AsyncClient(timeout=10) as http:
            await asyncio.gather(
                *(
                    check(http, ticket_id, acked[-1][1])
                    for ticket_id, acked in self.log.acked.items()
                )
            )


def _version_on_page(answer: httpx.Response) -> int | None:
    if answer.status_code == 404:
        return DELETED
    found = TITLE.search(answer.text)
    return int(found.group(2)) if answer.status_code == 200 and found else None


def _version_in_list(answer: httpx.Response, ticket_id: str) -> int | None:
    if answer.status_code != 200:
        return None
    row = re.search(rf'id="ticket-{ticket_id}".*?soak \w+ v(\d+)', answer.text, re.S)
    return int(row.group(1)) if row else DELETED


def _behind(shown: int | None, required: int) -> bool:
    """Whether what a read showed is older than what it was owed. A delete is
    the newest thing that can happen to a ticket; None (nothing readable) is
    behind anything."""
    if shown is None:
        return True
    if required == DELETED:
        return shown != DELETED
    return shown != DELETED and shown < required


async def faults(soak: Soak, redis: RedisServer, proxy: TcpProxy, duration: float) -> None:
    """Cut the first process off Redis, restart Redis, kill -9 the second and restart it."""
    _, restarted = soak.servers  # the first is the one behind the proxy
    step = duration / 6
    await asyncio.sleep(step)
    print(f"soak: {step:.0f}s cutting process 1 off from Redis", flush=True)
    proxy.cut()
    await asyncio.sleep(step)
    proxy.heal()
    print(f"soak: {2 * step:.0f}s process 1 reaches Redis again; restarting Redis", flush=True)
    await asyncio.sleep(step / 2)
    await asyncio.to_thread(redis.stop)
    await asyncio.to_thread(redis.start)
    await asyncio.sleep(step)
    print(f"soak: {3.5 * step:.0f}s kill -9 of process 2", flush=True)
    assert restarted.process is not None
    os.killpg(restarted.process.pid, signal.SIGKILL)
    await asyncio.to_thread(restarted.stop)
    await asyncio.sleep(step / 2)
    await asyncio.to_thread(restarted.start)
    print(f"soak: {4 * step:.0f}s process 2 started again", flush=True)
    if soak.edge is None:
        return
    await asyncio.sleep(step / 2)
    stalled = soak.edge.stall()
    # Shorter than a client's timeout (10 s): a write it holds is answered in time.
    stall = min(step / 2, 5.0)
    print(f"soak: {4.5 * step:.0f}s the edge stalled (SIGSTOP) for {stall:.0f}s", flush=True)
    try:
        await asyncio.sleep(stall)
    finally:
        soak.edge.resume(stalled)
    print(f"soak: {4.5 * step + stall:.0f}s the edge resumed (SIGCONT)", flush=True)


def tracebacks(log: Path) -> list[str]:
    """The tracebacks a server wrote to its log, each with the line before it
    (uvicorn's "Exception in ASGI application") and its last line."""
    lines = log.read_text(errors="replace").splitlines()
    found = []
    for start, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = start + 1
            while end < len(lines) and lines[end].startswith((" ", "\t")):
                end += 1
            found.append("\n".join(lines[max(start - 1, 0) : end + 1]))
    return found


async def main(duration: float, clients: int, with_edge: bool = False) -> int:
    pg_url = os.environ["PG_DATABASE_URL"]
    with tempfile.TemporaryDirectory(prefix="soak.") as tmp:
        directory = Path(tmp)
        redis = RedisServer(directory).start()
        proxy = TcpProxy(redis.port).start()
        servers: list[AppServer] = []
        edge: EdgeServer | None = None
        try:
            async with (
                fresh_postgres_database(pg_url) as database_url,
                contextlib.AsyncExitStack() as stack,
            ):
                for n, cache_url in enumerate((proxy.url, redis.url), start=1):
                    env = {"CACHE_URL": cache_url, "DATABASE_URL": database_url}
                    servers.append(AppServer(directory / f"app-{n}.log", env=env))
                if with_edge:  # in front of process 1, which is never killed
                    edge = EdgeServer(directory / "edge", servers[0].port)
                    await asyncio.to_thread(edge.start)
                    for server in servers:
                        server.env.update(edge.app_env())
                # Both at once: the advisory lock lets one migrate the new database.
                await asyncio.gather(*(asyncio.to_thread(server.start) for server in servers))
                soak = Soak(servers, clients, duration, edge)
                people = [
                    await stack.enter_async_context(httpx.AsyncClient(timeout=10))
                    for _ in range(clients)
                ]
                for n, http in enumerate(people):
                    # A person each (the cookie goes to every port of the host),
                    # one after another: a burst of sign-ups is refused by design
                    # (503 past HASH_CONCURRENCY hashes at once).
                    await sign_up_async(http, servers[0].base_url, name=f"Soak {n}")
                soak.deadline = time.monotonic() + duration
                print(
                    f"soak: {duration:.0f}s, {clients} clients, 2 processes, "
                    "process 1 reaching Redis through a proxy"
                    + (", and an edge in front of it" if edge else ""),
                    flush=True,
                )
                await asyncio.gather(
                    faults(soak, redis, proxy, duration), *(soak.client(http) for http in people)
                )
                await asyncio.sleep(BOUND)  # the last writes' bound runs out
                await soak.check_every_write()
                for server in servers:
                    server.terminate()  # both stop at once
                for server in servers:
                    await asyncio.to_thread(server.stop)
                if soak.tally.server_errors:  # the logs go with the folder: say why now
                    for server in servers:
                        for trace in tracebacks(server.log)[:6]:
                            print(f"soak: in {server.log.name}:\n{trace}", flush=True)
        finally:
            for server in servers:
                server.stop()
            if edge is not None:
                edge.stop()
            proxy.close()
            redis.stop()
    t = soak.tally
    print(
        f"soak: {t.writes:,} acknowledged writes; {t.unreachable:,} requests found a process down"
    )
    for note in t.notes[:10]:
        print(f"soak:   {note}")
    stalest = t.longest_stale * 1000
    print(f"soak: the stalest read began {stalest:.0f} ms after a write it did not show")
    print(f"reads checked: {t.reads:,}")
    if with_edge:
        print(f"reads checked through the edge: {t.edge_reads:,} ({t.edge_stale} stale)")
    print(f"stale reads beyond the bound ({BOUND:.0f} s): {t.stale}")
    print(f"5xx: {t.server_errors}")
    print(f"acknowledged writes lost: {t.lost}")
    return 0 if t.stale == t.server_errors == t.lost == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument(
        "--edge", action="store_true", help="an edge (Varnish) in front, stalled once"
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.duration, args.clients, args.edge)))
