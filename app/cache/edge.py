"""An edge cache in front of the app, purged by tag (Varnish with its xkey module).

Each cached answer the edge asks for names its tags in an ``xkey`` header (the
edge keeps what carries one, and strips the header); when an invalidation is
applied, ``Edge.purge`` drops every object holding one of its tags there
(``PURGE``, or ``SOFTPURGE`` for ``soft=True``: kept for a short grace while
one fetch replaces it). ``Invalidations`` purges before a write's answer goes
out; a purge the edge does not acknowledge leaves the write's outbox row in
place, for the sweeper to apply again (store and edge alike).

A purge waits for the edge's answer up to ``PURGE_PATIENCE_SECONDS``: a
stalled edge (SIGSTOP, a long pause) answers when it resumes, and until then
the write is not acknowledged, so no read after its answer can find the old
page there. An edge nobody listens for (refused) keeps nothing to serve: that
fails at once.

A body the store refused is never given to the edge to keep (answers.py); but
a fetch the edge had under way when the purge came may still store, after it,
what the app answered *before* the bump (it read a fresh entry, or stored one,
a moment before the write; the edge inserts it a moment after the purge, which
found nothing yet). So each purge is made once more a moment later
(``REPURGE_AFTER_SECONDS``), retried until the edge takes it: such a body
lives that long at most.

Purges go over a few kept-alive HTTP/1.1 connections, framed by h11 (the
protocol library under uvicorn and httpx): every write waits for one, and
h11 on an asyncio stream costs a fraction of httpx's CPU (bench/README.md).

The per-person holes of a page are the edge's to fill (``app/cache/holes.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from app.cache.errors import EdgeUnavailable

logger = logging.getLogger(__name__)

PURGE_TIMEOUT_SECONDS = 2.0  # a probe's
PURGE_PATIENCE_SECONDS = 8.0  # a purge's: a write's answer waits for it that long at most
REPURGE_AFTER_SECONDS = 0.5
SPARE_RETRY_SECONDS = 0.05  # the least wait before a failed spare purge is made again
SECRET_HEADER = "x-edge-secret"  # what tells the edge a purge or probe is the app's
KEEP_CONNECTIONS = 4  # idle ones kept for the next purges; more at once are opened, then closed
READ_BYTES = 4096  # an answer here is a status line, a few headers and a word
XKEY_HEADER = b"xkey"
# What the edge splits keys on (spaces, commas) or a header cannot carry: such
# a tag (a path tag of an odd URL) goes by its digest, the same both ways.
_PLAIN_KEY = re.compile(r"[!-+\--~]+")


@dataclass(frozen=True)
class EdgeObject:
    """What the edge keeps for one request (``Edge.probe``)."""

    age: float  # seconds since the edge fetched it
    ttl: float  # seconds it stays fresh; below 0, stale, served for its grace
    hits: int  # answers it made since (earlier probes among them)
    keys: str  # what purges it (its xkey)


class Edge:
    def __init__(
        self,
        url: str,
        *,
        secret: str = "",
        timeout: float = PURGE_TIMEOUT_SECONDS,
        patience: float = PURGE_PATIENCE_SECONDS,
        repurge_after: float = REPURGE_AFTER_SECONDS,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"an edge is reached at http://host:port, not {url!r}")
        self.url = url.rstrip("/") + "/"
        self.address = parts.hostname, parts.port or 80
        self.host = parts.netloc  # the Host header
        self.secret = secret  # the edge answers purges and probes that carry it only
        self.timeout = timeout
        self.patience = patience
        self.repurge_after = repurge_after
        self._again: set[asyncio.Task[None]] = set()
        self._idle: list[_Connection] = []
        self._closed = False  # a purge that ends after close() keeps no connection

    async def purge(self, tags: frozenset[str], *, soft: bool) -> None:
        """Drop (or, ``soft``, expire softly) every object holding one of ``tags``."""
        method, keys = "SOFTPURGE" if soft else "PURGE", edge_keys(tags)
        await self._send(method, keys)
        again = asyncio.create_task(self._send_again(method, keys))
        self._again.add(again)
        again.add_done_callback(self._again.discard)

    async def _send_again(self, method: str, keys: str) -> None:
        """The spare purge, retried with back-off until taken (or for ``patience``)."""
        delay, waited = self.repurge_after, 0.0
        while True:
            await asyncio.sleep(delay)  # a moment after: no event marks a fetch's end
            waited += delay
            try:
                await self._send(method, keys)
                return
            except EdgeUnavailable as exc:
                if waited >= self.patience:
                    logger.warning("edge purge, made again, failed: %s", exc)
                    return
                delay = min(max(delay * 2, SPARE_RETRY_SECONDS), self.patience - waited)

    async def _send(self, method: str, keys: str) -> None:
        answer = await self._ask(method, "/", [("xkey-purge", keys)], timeout=self.patience)
        if answer.status_code != 200:
            raise EdgeUnavailable(f"{method} {self.url}: {_status(answer)}")

    async def probe(
        self,
        target: str,
        *,
        who: str,
        headers: Sequence[tuple[str, str]] = (),
        host: str | None = None,
    ) -> EdgeObject | None:
        """What the edge keeps for ``target`` as ``who`` ("anonymous" or
        "person") asks for it with ``headers`` (those it varies by), at
        ``host`` (the name browsers reach the edge by; default: its address,
        as scripts/run's browsers do): looked up there, never fetched. None:
        nothing is kept."""
        asked = [("x-edge-probe", who), *headers]
        answer = await self._ask("GET", target, asked, host=host or self.host)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise EdgeUnavailable(f"probe {target} at {self.url}: {_status(answer)}")
        said = {name.decode(): value.decode("latin-1") for name, value in answer.headers}
        return EdgeObject(
            age=float(said["x-edge-age"]),
            ttl=float(said["x-edge-ttl"]),
            hits=int(said["x-edge-hits"]),
            keys=said.get("x-edge-keys", ""),
        )

    async def _ask(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        *,
        host: str | None = None,
        timeout: float | None = None,
    ) -> h11.Response:
        try:  # h11 refuses a target or header it cannot send (a space in a path): unavailable too
            said = [("Host", host or self.host), (SECRET_HEADER, self.secret), *headers]
            request = h11.Request(method=method, target=target, headers=said)
            async with asyncio.timeout(timeout or self.timeout):
                return await self._exchange(request)
        except (OSError, TimeoutError, h11.ProtocolError) as exc:
            raise EdgeUnavailable(f"{method} {target} at {self.url}: {exc!r}") from exc

    async def _exchange(self, request: h11.Request) -> h11.Response:
        """``request`` on a kept connection, or on a new one if the edge closed
        those meanwhile (it closes idle ones: a purge may be asked twice, which
        is harmless)."""
        while self._idle:
            kept = self._idle.pop()
            try:
                return await self._on(kept, request)
            except (OSError, h11.RemoteProtocolError):
                continue
        reader, writer = await asyncio.open_connection(*self.address)
        return await self._on(_Connection(reader, writer), request)

    async def _on(self, connection: _Connection, request: h11.Request) -> h11.Response:
        try:
            answer = await connection.exchange(request)
        except BaseException:  # failed, or cut short by the timeout: never reused
            connection.close()
            raise
        if connection.reusable() and not self._closed and len(self._idle) < KEEP_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    async def purge_everything(self) -> None:
        """Drop every object (a process of a new build starts: its pages may differ)."""
        await self._send("PURGE", "*")

    async def close(self) -> None:
        self._closed = True
        for again in list(self._again):
            again.cancel()
        await asyncio.gather(*self._again, return_exceptions=True)
        while self._idle:
            self._idle.pop().close()


class _Connection:
    """One HTTP/1.1 connection to the edge."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.http = h11.Connection(h11.CLIENT)

    async def exchange(self, request: h11.Request) -> h11.Response:
        """Send ``request``; its answer's head (the edge says all in its headers)."""
        self.writer.write(self.http.send(request) + self.http.send(h11.EndOfMessage()))
        await self.writer.drain()
        head = None
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                self.http.receive_data(await self.reader.read(READ_BYTES))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None  # h11 parses a head before any end
                return head

    def reusable(self) -> bool:
        """Ready for another request (not if the edge said it would close)."""
        if self.http.our_state is h11.DONE and self.http.their_state is h11.DONE:
            self.http.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self.writer.close()


def _status(answer: h11.Response) -> str:
    return f"{answer.status_code} {answer.reason.decode('latin-1')}"


def xkey_header(tags: frozenset[str]) -> tuple[bytes, bytes]:
    """The header that tells the edge what an answer holds."""
    return XKEY_HEADER, edge_keys(tags).encode()


def edge_keys(tags: frozenset[str]) -> str:
    return " ".join(sorted(_edge_key(tag) for tag in tags))


def _edge_key(tag: str) -> str:
    if _PLAIN_KEY.fullmatch(tag):
        return tag
    return "#" + hashlib.sha256(tag.encode()).hexdigest()[:32]
