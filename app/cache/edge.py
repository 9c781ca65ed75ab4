"""An edge cache in front of the app, purged by tag (Varnish with its xkey module).

Each cached answer the edge asks for names its tags in an ``xkey`` header (the
edge keeps what carries one, and strips the header); when an invalidation is
applied, ``Edge.purge`` drops every object holding one of its tags there
(``PURGE``, or ``SOFTPURGE`` for ``stale=True``: kept for a short grace while
one fetch replaces it). ``Invalidations`` purges before a write's answer goes
out; a purge the edge does not acknowledge leaves the write's outbox row in
place, for the sweeper to apply again (store and edge alike).

A fetch the edge had under way when the purge came may store, after it, what
the app answered before the bump: each purge is made once more a moment later
(``REPURGE_AFTER_SECONDS``), so such a body lives that long at most.

The per-person holes of a page are the edge's to fill (``app/cache/holes.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re

import httpx

from app.cache.errors import CacheError

logger = logging.getLogger(__name__)

PURGE_TIMEOUT_SECONDS = 2.0
REPURGE_AFTER_SECONDS = 0.5
XKEY_HEADER = b"xkey"
# What the edge splits keys on (spaces, commas) or a header cannot carry: such
# a tag (a path tag of an odd URL) goes by its digest, the same both ways.
_PLAIN_KEY = re.compile(r"[!-+\--~]+")


class EdgeUnavailable(CacheError):
    """The edge did not acknowledge a purge."""


class Edge:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = PURGE_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,  # tests: an edge in process
        repurge_after: float = REPURGE_AFTER_SECONDS,
    ) -> None:
        self.url = url.rstrip("/") + "/"
        self.repurge_after = repurge_after
        self._again: set[asyncio.Task[None]] = set()
        # One keep-alive connection or a few: a purge is on every write's path.
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def purge(self, tags: frozenset[str], *, stale: bool) -> None:
        """Drop (or, ``stale``, expire softly) every object holding one of ``tags``."""
        method, keys = "SOFTPURGE" if stale else "PURGE", edge_keys(tags)
        await self._send(method, keys)
        again = asyncio.create_task(self._send_again(method, keys))
        self._again.add(again)
        again.add_done_callback(self._again.discard)

    async def _send_again(self, method: str, keys: str) -> None:
        await asyncio.sleep(self.repurge_after)
        try:
            await self._send(method, keys)
        except EdgeUnavailable as exc:  # the first one was taken: this is the spare
            logger.warning("edge purge, made again, failed: %s", exc)

    async def _send(self, method: str, keys: str) -> None:
        try:
            answer = await self._client.request(method, self.url, headers={"xkey-purge": keys})
        except httpx.HTTPError as exc:
            raise EdgeUnavailable(f"{method} {self.url}: {exc!r}") from exc
        if answer.status_code != 200:
            raise EdgeUnavailable(f"{method} {self.url}: {answer.status_code} {answer.text[:200]}")

    async def purge_everything(self) -> None:
        """Drop every object (a process of a new build starts: its pages may differ)."""
        await self._send("PURGE", "*")

    async def close(self) -> None:
        for again in list(self._again):
            again.cancel()
        await asyncio.gather(*self._again, return_exceptions=True)
        await self._client.aclose()


def xkey_header(tags: frozenset[str]) -> tuple[bytes, bytes]:
    """The header that tells the edge what an answer holds."""
    return XKEY_HEADER, edge_keys(tags).encode()


def edge_keys(tags: frozenset[str]) -> str:
    return " ".join(sorted(_edge_key(tag) for tag in tags))


def _edge_key(tag: str) -> str:
    if _PLAIN_KEY.fullmatch(tag):
        return tag
    return "#" + hashlib.sha256(tag.encode()).hexdigest()[:32]
