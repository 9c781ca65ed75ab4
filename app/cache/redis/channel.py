"""The invalidation channel: the bumps of other processes, heard over pub/sub.

Every bump is published on ``{p}:invalidations``, in the round trip that
stamps it, with the origin of the store that made it; a ``Channel`` passes
on those of other origins. After any loss it resubscribes and says that
anything may have moved (``None``): what a process has not heard, it cannot
vouch for.

Each message carries the clock of its bump, and each (re)subscription
publishes a sync message with the clock as it is: ``heard`` (``heard.py``)
says up to which clock every bump has been handled here.

A quiet channel is pinged every ``HEARTBEAT`` seconds, and its pong counts
as news: nothing heard for ``SILENCE_LIMIT`` (a partition that closed no
socket) is a loss like any other. That is the bound on a near copy's
staleness. Quiet turns also keep the store tidy: its stats refreshed every
``HOUSEKEEPING_EVERY`` seconds, its old stamps trimmed every ``TRIM_EVERY``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.cache.redis.client import SOCKET_TIMEOUT
from app.cache.redis.heard import Heard
from app.cache.store import RemoteHandler

logger = logging.getLogger(__name__)

# The channel is pinged when quiet this long; a pong later than the socket
# timeout counts as a lost channel.
HEARTBEAT = 0.25
SILENCE_LIMIT = HEARTBEAT + SOCKET_TIMEOUT
HOUSEKEEPING_EVERY = 5.0
TRIM_EVERY = 60.0


class Channel:
    """Listens on channel ``name`` of ``client`` once started, until closed.

    It tells the store that owns it, through the callbacks it was given:
    ``heard(tags)``, the tags another process bumped (None: bumps may have
    been missed); ``live(flag)``, whether the channel is heard (also kept in
    ``listening``); and, on quiet turns, ``refresh()`` its stats and
    ``trim()`` its old stamps. Once subscribed, it calls ``sync()``, which
    publishes a sync message (``lua.SYNC``) with ``sync_message()``.
    """

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        *,
        retry_after: float,
        heard: RemoteHandler,
        live: Callable[[bool], None],
        refresh: Callable[[], Awaitable[None]],
        trim: Callable[[], Awaitable[int]],
        sync: Callable[[], Awaitable[object]],
    ) -> None:
        self.client = client
        self.name = name
        self.origin = secrets.token_hex(8)  # tells our own published bumps apart
        self.retry_after = retry_after
        # Set while the channel is known to be heard (a near copy may be used).
        self.listening = asyncio.Event()
        self.heard_at = 0.0  # monotonic time of the channel's last message or pong
        self.next_housekeeping = 0.0  # monotonic time; the first quiet turn does it
        self._next_trim = 0.0
        self._heard, self._live, self._refresh, self._trim = heard, live, refresh, trim
        self._sync = sync
        self.heard = Heard()  # up to which clock every bump has been handled here
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def message(self, tags: frozenset[str]) -> str:
        """What a bump of ``tags`` publishes (the script puts its clock in)."""
        return json.dumps({"origin": self.origin, "tags": sorted(tags)})

    def sync_message(self) -> str:
        """What a sync publishes (the script puts the clock in)."""
        return json.dumps({"origin": self.origin, "sync": True})

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def close(self) -> None:
        self._closing = True
        self._set_live(False)
        if self._task is not None:
            self._task.cancel()
            # redis-py may swallow the cancellation mid-reconnect; the flag ends
            # the loop then, and the bound keeps a shutdown from hanging on it.
            await asyncio.wait({self._task}, timeout=5)

    async def housekeeping(self) -> None:
        """On a quiet turn: refresh the stats, and now and then trim old stamps."""
        now = time.monotonic()
        if now < self.next_housekeeping:
            return
        self.next_housekeeping = now + HOUSEKEEPING_EVERY
        if now >= self._next_trim:
            self._next_trim = now + TRIM_EVERY
            await self._trim()
        await self._refresh()

    async def _listen(self) -> None:
        """Hear other processes' bumps; after any loss, resubscribe and assume the worst."""
        while not self._closing:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.name)
                    self.heard_at = time.monotonic()
                    while not self._closing:
                        message = await pubsub.get_message(timeout=HEARTBEAT)
                        # One await either way (a quiet turn pings; a message is
                        # handled): coverage.py on 3.11 misses an await on its own
                        # line at the end of this loop, though it runs.
                        await (self._quiet_turn(pubsub) if message is None else self._on(message))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                logger.warning("lost the redis invalidation channel, resubscribing: %s", exc)
                self._set_live(False)
                self._heard(None)
                await asyncio.sleep(self.retry_after)

    def _set_live(self, live: bool) -> None:
        self._live(live)
        if live:
            self.listening.set()
        else:
            self.listening.clear()

    async def _on(self, message: dict[str, Any]) -> None:
        self.heard_at = time.monotonic()  # a pong, a bump, a subscription: the channel is there
        if message["type"] == "message":
            payload = json.loads(message["data"])
            if payload["origin"] != self.origin and "tags" in payload:
                self._heard(frozenset(payload["tags"]))
            # Handled (or our own, already applied): every bump up to it is.
            self.heard.advance(int(payload.get("clock", 0)))
        elif not self.listening.is_set():  # subscribed: listening from now on
            self._heard(None)  # what happened before is unknown
            self._set_live(True)
            await self._sync()  # its message tells how far that is

    async def _quiet_turn(self, pubsub: Any) -> None:
        """A quiet ``HEARTBEAT``: ping the channel (its pong comes as a message),
        unless the last pings went unanswered; then tidy up."""
        if time.monotonic() - self.heard_at > SILENCE_LIMIT:
            raise RedisConnectionError(f"the invalidation channel was silent for {SILENCE_LIMIT} s")
        await pubsub.ping()
        await self.housekeeping()
