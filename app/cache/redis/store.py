"""The shared store: entries, stamps and leases in Redis, for many processes and hosts.

Layout, under a prefix (``tickets`` by default, ``?prefix=`` in the URL)::

    {p}:clock            the clock; starts at the current time in microseconds
    {p}:expired, :stale  hashes tag -> clock value of its last bump
    {p}:e:{g}:{key}      an entry: hash of meta and body (``codec.py``); has a TTL
    {p}:lease:{g}:{key}  the render lease of key (SET NX PX, with a token)
    {p}:invalidations    the pub/sub channel every bump is published on
    {p}:figures:{name}   a process's latest cache figures (``board.py``); has a TTL

``{g}`` is the generation of the code that renders (``generation=``, the
app's build id): during a deploy, old and new processes share the stamps, so
a write reaches both, but never serve each other's entries, which old or new
templates made.

Eviction must only ever cost a miss, never a stale hit: run Redis with
``maxmemory-policy volatile-lru`` (or ``volatile-ttl``). Only entries carry a
TTL, so only entries can be evicted; the clock and the tag stamps cannot, and
a missing stamp would make an entry look fresh. Because the clock starts at
the wall time in microseconds, a Redis restarted empty hands out stamps above
any snapshot taken before, so a render that straddles the restart is refused.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from app.cache.entry import Entry, Freshness, freshness_of
from app.cache.redis import codec, lua
from app.cache.redis.board import RedisBoard
from app.cache.redis.channel import Channel
from app.cache.redis.client import RETRY_AFTER_FAILURE, Breaker, connect
from app.cache.redis.near import NEAR_MAX_BYTES, NearCopy
from app.cache.store import Put, RemoteHandler, StoreStats

ENTRY_TTL_MS = 24 * 3600 * 1000  # entries are evictable; a day bounds their stay
# A stamp older than every entry that could hold it can go: an entry made
# before a bump is gone once ENTRY_TTL_MS has passed since. The margin covers
# clocks of different hosts that disagree.
STAMP_MARGIN_MS = 3600 * 1000
LEASE_MS = 5_000


def _now_us() -> str:
    return str(time.time_ns() // 1000)


class RedisStore:
    shared = True  # every process reads it, and it outlives each of them

    def __init__(
        self,
        url: str,
        *,
        generation: str = "",
        retry_after: float = RETRY_AFTER_FAILURE,
    ) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.prefix = query.pop("prefix", ["tickets"])[0]
        near = query.pop("near", ["0"])[0] in ("1", "on", "true")
        self.url = urlunsplit(parts._replace(query=""))
        self.client = connect(self.url)
        self._call = Breaker(retry_after)
        self._scripts = {
            name: self.client.register_script(source)
            for name, source in (
                ("clock", lua.CLOCK),
                ("get", lua.GET),
                ("put", lua.PUT),
                ("bump", lua.BUMP),
                ("sync", lua.SYNC),
                ("release", lua.RELEASE),
            )
        }
        p = self.prefix
        self._generation = generation
        self._clock, self._expired, self._stale = f"{p}:clock", f"{p}:expired", f"{p}:stale"
        self._handler: RemoteHandler | None = None
        self._stats = StoreStats(0, 0, 0)
        self._stamps = 0
        self.near = NearCopy(NEAR_MAX_BYTES if near else 0)  # 0 bytes: never keeps one
        self.board = RedisBoard(self.client, p, self._call)
        self.channel = Channel(
            self.client,
            f"{p}:invalidations",
            retry_after=retry_after,
            heard=self._heard,
            live=self._live,
            refresh=self.refresh_stats,
            trim=self.trim_stamps,
            sync=self._publish_sync,
        )
        self.listening = self.channel.listening

    # -- the Store interface ---------------------------------------------

    async def clock(self) -> int:
        return int(await self._run("clock", [self._clock], [_now_us()]))

    def mark(self) -> int | None:
        """With a near copy, while the channel is heard: every bump counts in
        ``moves``. Without one, only Redis itself knows (its reads are exact)."""
        return self.near.moves if self.near.max_bytes and self.near.live else None

    def heard(self) -> int:
        """Every bump up to this clock is in what this process reads (``heard.py``)."""
        return self.channel.heard.clock

    async def catch_up(self, clock: int) -> bool:
        """Whether every bump up to ``clock`` is in what this process reads,
        once it has heard them (waiting a little); never while the channel is lost."""
        return self.channel.listening.is_set() and await self.channel.heard.reach(clock)

    async def get(self, key: str, now: float) -> tuple[Entry, Freshness] | None:
        return (await self.get_many([key], now))[0]

    async def get_many(self, keys: list[str], now: float) -> list[tuple[Entry, Freshness] | None]:
        """Every entry of ``keys`` and its freshness: from the near copy, else
        all the others in one round trip."""
        found: dict[str, tuple[Entry, Freshness] | None] = {}
        for key in keys:
            near = self.near.get(key)
            # No bump reached it: fresh, unless its own time is up (then Redis says how stale).
            if near is not None and freshness_of(near, 0, 0, now) is Freshness.FRESH:
                found[key] = (near, Freshness.FRESH)
        asked = [key for key in keys if key not in found]
        if asked:
            moves_seen = self.near.moves
            entry_keys = [self._entry(key) for key in asked]
            replies = await self._run("get", [self._expired, self._stale, *entry_keys], [])
            for key, reply in zip(asked, replies, strict=True):
                found[key] = None
                if reply:
                    meta, blob, expired, stale = reply
                    entry = codec.decode(key, meta, blob)
                    freshness = freshness_of(entry, int(expired), int(stale), now)
                    if freshness is not Freshness.EXPIRED:
                        found[key] = (entry, freshness)
                    if freshness is Freshness.FRESH:
                        self.near.put(entry, moves_seen)
        return [found[key] for key in keys]

    async def put(self, entry: Entry) -> Put:
        return (await self.put_many([entry]))[0]

    async def put_many(self, entries: list[Entry]) -> list[Put]:
        """Store each entry whose tags did not move since its snapshot, in one round trip."""
        keys = [self._expired, self._stale, self._clock]
        args: list[Any] = [ENTRY_TTL_MS]
        for entry in entries:
            keys.append(self._entry(entry.key))
            args.extend([entry.snapshot, *codec.encode(entry)])
        moves_seen = self.near.moves
        # 1: kept; 0: a tag moved after its snapshot, or Redis lost the clock it was read from
        stored = [Put.KEPT if done else Put.MOVED for done in await self._run("put", keys, args)]
        for entry, done in zip(entries, stored, strict=True):
            if done:
                self.near.put(entry, moves_seen)
        return stored

    async def bump(self, tags: frozenset[str], *, soft: bool = False) -> None:
        self.near.drop(tags)  # first: whether Redis takes it or not, these copies are done
        stamps = self._stale if soft else self._expired
        keys = [self._clock, stamps, self.channel.name]
        args = [_now_us(), self.channel.message(tags), *tags]
        try:
            await self._run("bump", keys, args, always=True)
        finally:
            # And again: a read that began after the first drop may have found
            # the old entry in Redis before the bump landed, and kept it. Our
            # own message on the channel is not heard, so this is the last word.
            self.near.drop(tags)

    async def acquire(self, key: str) -> str | None:
        token = secrets.token_hex(8)
        taken = await self._call(self.client.set(self._lease(key), token, nx=True, px=LEASE_MS))
        return token if taken else None

    async def release(self, key: str, token: str) -> None:
        await self._run("release", [self._lease(key)], [token])

    async def leased(self, key: str) -> bool:
        return bool(await self._call(self.client.exists(self._lease(key))))

    def stats(self) -> StoreStats:
        """Keys, used bytes and ``maxmemory`` of the Redis server, as of the last refresh."""
        return self._stats

    def stamp_count(self) -> int:
        """Stamps in both hashes, as of the last refresh."""
        return self._stamps

    async def refresh_stats(self) -> None:
        info = await self.client.info("memory")
        self._stats = StoreStats(
            int(await self.client.dbsize()), int(info["used_memory"]), int(info["maxmemory"])
        )
        self._stamps = int(await self.client.hlen(self._expired)) + int(
            await self.client.hlen(self._stale)
        )

    async def stamps(self, tags: frozenset[str]) -> dict[str, tuple[int, int]]:
        ordered = sorted(tags)
        if not ordered:
            return {}
        expired = await self._call(self.client.hmget(self._expired, ordered))
        stale = await self._call(self.client.hmget(self._stale, ordered))
        return {
            tag: (int(e or 0), int(s or 0))
            for tag, e, s in zip(ordered, expired, stale, strict=True)
        }

    async def trim_stamps(self, before: int | None = None) -> int:
        """Forget the stamps of bumps older than ``before`` (a clock value;
        default: older than any entry can be); how many went. Without this,
        every tag ever bumped would stay in Redis for good."""
        if before is None:
            before = int(_now_us()) - (ENTRY_TTL_MS + STAMP_MARGIN_MS) * 1000
        gone = 0
        for stamps in (self._expired, self._stale):
            old = [
                field
                async for field, value in self.client.hscan_iter(stamps, count=1000)
                if int(value) < before
            ]
            for start in range(0, len(old), 1000):
                gone += int(await self.client.hdel(stamps, *old[start : start + 1000]))
        return gone

    def on_remote_invalidation(self, handler: RemoteHandler) -> None:
        self._handler = handler

    async def start(self) -> None:
        self.channel.start()

    async def close(self) -> None:
        await self.channel.close()
        await self.client.aclose()

    # -- plumbing --------------------------------------------------------

    def _entry(self, key: str) -> str:
        return f"{self.prefix}:e:{self._generation}:{key}"

    def _lease(self, key: str) -> str:
        return f"{self.prefix}:lease:{self._generation}:{key}"

    def _heard(self, tags: frozenset[str] | None) -> None:
        """Another process bumped ``tags`` (None: bumps may have been missed)."""
        self.near.drop(tags)
        if self._handler is not None:
            self._handler(tags)

    def _live(self, live: bool) -> None:
        self.near.live = live

    async def _publish_sync(self) -> object:
        """Publish a sync message (for the channel, whose errors end its subscription)."""
        keys, args = [self._clock, self.channel.name], [_now_us(), self.channel.sync_message()]
        return await self._scripts["sync"](keys=keys, args=args)

    async def _run(
        self, script: str, keys: list[str], args: list[Any], *, always: bool = False
    ) -> Any:
        return await self._call(self._scripts[script](keys=keys, args=args), always=always)
