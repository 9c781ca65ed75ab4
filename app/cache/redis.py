"""The shared store: Redis, for many processes and hosts.

Layout, under a prefix (``tickets`` by default, ``?prefix=`` in the URL)::

    {p}:clock            the clock; starts at the current time in microseconds
    {p}:expired, :stale  hashes tag -> clock value of its last bump
    {p}:e:{g}:{key}      an entry: hash of meta (JSON) and body; has a TTL (the body
                         field holds the plain body, then each compressed variant,
                         whose codings and lengths the meta lists)
    {p}:lease:{g}:{key}  the render lease of key (SET NX PX, with a token)

``{g}`` is the generation of the code that renders (``generation=``, the
app's build id): during a deploy, old and new processes share the stamps, so
a write reaches both, but never serve each other's entries, which old or new
templates made.
    {p}:invalidations    the pub/sub channel every bump is published on

Eviction must only ever cost a miss, never a stale hit: run Redis with
``maxmemory-policy volatile-lru`` (or ``volatile-ttl``). Only entries carry a
TTL, so only entries can be evicted; the clock and the tag stamps cannot, and
a missing stamp would make an entry look fresh. Because the clock starts at
the wall time in microseconds, a Redis restarted empty hands out stamps above
any snapshot taken before, so a render that straddles the restart is refused.

Reads, writes and bumps are each one round trip (a Lua script), so the
compare-on-write (refuse an entry whose tags moved since its snapshot) is atomic.

With ``?near=1`` in the URL, hot entries are also kept in the process
(``NearCopy``), and served from there with no round trip while the
invalidation channel is up: every bump, ours or heard from another process,
drops the copies holding its tags first, and a lost or silent channel drops
them all and stops their use until it is back. Off by default: a near copy is
as current as the channel's news (a delivery behind another process's bump:
well under a millisecond here, ``SILENCE_LIMIT`` at worst: pings unanswered),
where a read from Redis is exact; the staleness bound between processes is
1 s either way. Without it, every HIT brings its body back from Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.cache.entry import Entry, Freshness, freshness_of
from app.cache.errors import StoreUnavailable
from app.cache.store import RemoteHandler

logger = logging.getLogger(__name__)

ENTRY_TTL_MS = 24 * 3600 * 1000  # entries are evictable; a day bounds their stay
# A stamp older than every entry that could hold it can go: an entry made
# before a bump is gone once ENTRY_TTL_MS has passed since. The margin covers
# clocks of different hosts that disagree.
STAMP_MARGIN_MS = 3600 * 1000
TRIM_EVERY = 60.0  # seconds between two trims of the stamps
LEASE_MS = 5_000
NEAR_MAX_BYTES = 32 * 1024 * 1024  # the hot entries a process keeps by itself
# The channel is pinged when quiet this long; a pong later than the socket
# timeout (1 s) counts as a lost channel: the bound on a near copy's staleness.
HEARTBEAT = 0.25
SOCKET_TIMEOUT = 1.0
# Nothing heard on the channel for this long, though it is pinged every
# HEARTBEAT: a partition that closed no socket, handled as a loss.
SILENCE_LIMIT = HEARTBEAT + SOCKET_TIMEOUT
HOUSEKEEPING_EVERY = 5.0  # stats refreshed, stamps trimmed (every TRIM_EVERY)
RETRY_AFTER_FAILURE = 1.0  # seconds without trying Redis after it failed

_CLOCK = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""

# KEYS: the expired and stale stamp hashes, then one entry key per entry
# asked for; one reply per entry: nil, or {meta, body, expired, stale}. An
# entry a hard bump expired is nil too: its body, which nobody may be served,
# does not cross the network (the first read after a write, a miss, paid for
# the whole page three times). Stamps are compared with tonumber (exact below
# 2^53) but handed back as the strings Redis stored: Lua would print a
# 16-digit number in %.14g and lose it.
_GET = """
local found = {}
for k = 3, #KEYS do
  local meta = redis.call('HGET', KEYS[k], 'meta')
  found[k - 2] = false
  if meta then
    local decoded = cjson.decode(meta)
    local tags = decoded['tags']
    local expired, stale = '0', '0'
    if #tags > 0 then
      local e = redis.call('HMGET', KEYS[1], unpack(tags))
      local s = redis.call('HMGET', KEYS[2], unpack(tags))
      for i = 1, #tags do
        if e[i] and tonumber(e[i]) > tonumber(expired) then expired = e[i] end
        if s[i] and tonumber(s[i]) > tonumber(stale) then stale = s[i] end
      end
    end
    if tonumber(expired) <= tonumber(decoded['snapshot']) then
      found[k - 2] = {meta, redis.call('HGET', KEYS[k], 'body'), expired, stale}
    end
  end
end
return found
"""

# KEYS: the stamp hashes and the clock, then one entry key per entry;
# ARGV: the TTL, then (snapshot, meta, body) per entry. One reply per
# entry: 1 stored, 0 refused (a tag moved after its snapshot).
_PUT = """
local clock = tonumber(redis.call('GET', KEYS[3]) or '-1')
local stored = {}
for k = 4, #KEYS do
  local at = 2 + (k - 4) * 3
  local snapshot = tonumber(ARGV[at])
  local ok = clock >= 0 and snapshot <= clock
  local tags = cjson.decode(ARGV[at + 1])['tags']
  if ok and #tags > 0 then
    local e = redis.call('HMGET', KEYS[1], unpack(tags))
    local s = redis.call('HMGET', KEYS[2], unpack(tags))
    for i = 1, #tags do
      if (e[i] and tonumber(e[i]) > snapshot) or (s[i] and tonumber(s[i]) > snapshot) then
        ok = false
      end
    end
  end
  if ok then
    redis.call('HSET', KEYS[k], 'meta', ARGV[at + 1], 'body', ARGV[at + 2])
    redis.call('PEXPIRE', KEYS[k], ARGV[1])
    stored[k - 3] = 1
  else
    stored[k - 3] = 0
  end
end
return stored
"""

# The clock moves to the bumping host's wall time in microseconds, or by one if
# it is there already: a stamp tells when its bump happened, which is what
# lets trim_stamps forget old ones.
_BUMP = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1])) then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('INCR', KEYS[1])
end
local clock = redis.call('GET', KEYS[1])
for i = 3, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], clock)
end
redis.call('PUBLISH', KEYS[3], ARGV[2])
return clock
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _now_us() -> str:
    return str(time.time_ns() // 1000)


class NearCopy:
    """Entries this process read or stored, kept while no bump says otherwise.

    Used only while ``live`` (the invalidation channel is up). Every bump drops
    the copies holding one of its tags, and counts in ``moves``: a read that
    started before a bump brings back what it may have made stale, so it is
    not kept (``put`` with the ``moves`` it saw first).
    """

    def __init__(self, max_bytes: int = NEAR_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.live = False
        self.moves = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._keys_of: dict[str, set[str]] = {}  # tag -> keys of the copies holding it

    def get(self, key: str) -> Entry | None:
        if not self.live:
            return None
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, entry: Entry, moves_seen: int) -> None:
        if not self.live or moves_seen != self.moves or entry.size > self.max_bytes:
            return
        self._forget(entry.key)
        self._entries[entry.key] = entry
        self.bytes += entry.size
        for tag in entry.tags:
            self._keys_of.setdefault(tag, set()).add(entry.key)
        while self.bytes > self.max_bytes:
            self._forget(next(iter(self._entries)))

    def drop(self, tags: frozenset[str] | None) -> None:
        """A bump of ``tags`` (None: any, unknown): the copies it may make stale go."""
        self.moves += 1
        if tags is None:
            self._entries.clear()
            self._keys_of.clear()
            self.bytes = 0
            return
        for tag in tags:
            for key in list(self._keys_of.get(tag, ())):
                self._forget(key)

    def _forget(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.size
        for tag in entry.tags:
            keys = self._keys_of[tag]
            keys.discard(key)
            if not keys:
                del self._keys_of[tag]


class RedisStore:
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
        self.origin = secrets.token_hex(8)  # tells our own published bumps apart
        self.retry_after = retry_after
        self.client = redis.Redis.from_url(
            self.url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            # A pooled connection that a Redis restart closed is retried once at
            # once; a Redis that is really gone still fails fast (refused).
            retry=Retry(NoBackoff(), retries=1),
            retry_on_error=[RedisConnectionError],
        )
        self._scripts = {
            name: self.client.register_script(source)
            for name, source in (
                ("clock", _CLOCK),
                ("get", _GET),
                ("put", _PUT),
                ("bump", _BUMP),
                ("release", _RELEASE),
            )
        }
        p = self.prefix
        self._generation = generation
        self._clock, self._expired, self._stale = f"{p}:clock", f"{p}:expired", f"{p}:stale"
        self.channel = f"{p}:invalidations"
        self._handler: RemoteHandler | None = None
        self._listener: asyncio.Task[None] | None = None
        self._closing = False
        self._down_until = 0.0
        self._stats = (0, 0)
        self._stamps = 0
        self._next_trim = 0.0
        self._next_housekeeping = 0.0
        self._heard_at = 0.0  # monotonic time of the channel's last message or pong
        self.near = NearCopy(NEAR_MAX_BYTES if near else 0)  # 0 bytes: never keeps one
        # Set while the channel is known to be heard (the near copy may be used).
        self.listening = asyncio.Event()

    # -- the Store interface ---------------------------------------------

    async def clock(self) -> int:
        return int(await self._run("clock", [self._clock], [_now_us()]))

    def mark(self) -> int | None:
        """With a near copy, while the channel is heard: every bump counts in
        ``moves``. Without one, only Redis itself knows (its reads are exact)."""
        return self.near.moves if self.near.max_bytes and self.near.live else None

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
                    meta_json, body, expired, stale = reply
                    entry = _entry_from(key, json.loads(meta_json), body)
                    freshness = freshness_of(entry, int(expired), int(stale), now)
                    if freshness is not Freshness.EXPIRED:
                        found[key] = (entry, freshness)
                    if freshness is Freshness.FRESH:
                        self.near.put(entry, moves_seen)
        return [found[key] for key in keys]

    async def put(self, entry: Entry) -> bool:
        return (await self.put_many([entry]))[0]

    async def put_many(self, entries: list[Entry]) -> list[bool]:
        """Store each entry whose tags did not move since its snapshot, in one round trip."""
        keys = [self._expired, self._stale, self._clock]
        args: list[Any] = [ENTRY_TTL_MS]
        for entry in entries:
            keys.append(self._entry(entry.key))
            args.extend([entry.snapshot, _meta(entry), _blob(entry)])
        moves_seen = self.near.moves
        stored = [bool(done) for done in await self._run("put", keys, args)]
        for entry, done in zip(entries, stored, strict=True):
            if done:
                self.near.put(entry, moves_seen)
        return stored

    async def bump(self, tags: frozenset[str], *, stale: bool = False) -> None:
        self.near.drop(tags)  # first: whether Redis takes it or not, these copies are done
        message = json.dumps({"origin": self.origin, "tags": sorted(tags)})
        stamps = self._stale if stale else self._expired
        keys = [self._clock, stamps, self.channel]
        try:
            await self._run("bump", keys, [_now_us(), message, *tags], always=True)
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

    def stats(self) -> tuple[int, int]:
        """(keys, used bytes) of the Redis server, as of the last refresh."""
        return self._stats

    def stamp_count(self) -> int:
        """Stamps in both hashes, as of the last refresh."""
        return self._stamps

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
        self._listener = asyncio.create_task(self._listen())

    async def close(self) -> None:
        self._closing = True
        self._listening(False)
        if self._listener is not None:
            self._listener.cancel()
            # redis-py may swallow the cancellation mid-reconnect; the flag ends
            # the loop then, and the bound keeps a shutdown from hanging on it.
            await asyncio.wait({self._listener}, timeout=5)
        await self.client.aclose()

    # -- plumbing --------------------------------------------------------

    def _entry(self, key: str) -> str:
        return f"{self.prefix}:e:{self._generation}:{key}"

    def _lease(self, key: str) -> str:
        return f"{self.prefix}:lease:{self._generation}:{key}"

    async def _run(
        self, script: str, keys: list[str], args: list[Any], *, always: bool = False
    ) -> Any:
        return await self._call(self._scripts[script](keys=keys, args=args), always=always)

    async def _call(self, awaitable: Any, *, always: bool = False) -> Any:
        """Await a Redis call; any failure is StoreUnavailable, and a short pause.

        During the pause, calls fail at once, except ``always`` ones: a bump
        that waited out the pause while Redis was back would let the other
        processes serve what it expires.
        """
        if not always and time.monotonic() < self._down_until:
            awaitable.close()  # a coroutine never awaited would warn
            raise StoreUnavailable("redis is down; retrying shortly")
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.retry_after
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def _listen(self) -> None:
        """Hear other processes' bumps; after any loss, resubscribe and assume the worst.

        A quiet channel is pinged every ``HEARTBEAT`` seconds: nothing heard
        for ``SILENCE_LIMIT`` (a partition that closed no socket) is a loss like
        any other, which stops the near copy's use.
        """
        while not self._closing:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._heard_at = time.monotonic()
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
                self._listening(False)
                self._heard(None)
                await asyncio.sleep(self.retry_after)

    def _listening(self, live: bool) -> None:
        self.near.live = live
        if live:
            self.listening.set()
        else:
            self.listening.clear()

    def _received(self, data: bytes) -> None:
        payload = json.loads(data)
        if payload["origin"] != self.origin:
            self._heard(frozenset(payload["tags"]))

    def _heard(self, tags: frozenset[str] | None) -> None:
        self.near.drop(tags)
        if self._handler is not None:
            self._handler(tags)

    async def _on(self, message: dict[str, Any]) -> None:
        self._heard_at = time.monotonic()  # a pong, a bump, a subscription: the channel is there
        if message["type"] == "message":
            self._received(message["data"])
        elif not self.near.live:  # subscribed: listening from now on
            self._heard(None)  # what happened before is unknown
            self._listening(True)

    async def _quiet_turn(self, pubsub: Any) -> None:
        """A quiet ``HEARTBEAT``: ping the channel (its pong comes as a message),
        unless the last pings went unanswered; then tidy up."""
        if time.monotonic() - self._heard_at > SILENCE_LIMIT:
            raise RedisConnectionError(f"the invalidation channel was silent for {SILENCE_LIMIT} s")
        await pubsub.ping()
        await self._housekeeping()

    async def _housekeeping(self) -> None:
        """When the channel is quiet: trim old stamps now and then, refresh the stats."""
        now = time.monotonic()
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + HOUSEKEEPING_EVERY
        if now >= self._next_trim:
            self._next_trim = now + TRIM_EVERY
            await self.trim_stamps()
        await self._refresh_stats()

    async def _refresh_stats(self) -> None:
        info = await self.client.info("memory")
        self._stats = (int(await self.client.dbsize()), int(info["used_memory"]))
        self._stamps = int(await self.client.hlen(self._expired)) + int(
            await self.client.hlen(self._stale)
        )


def _meta(entry: Entry) -> str:
    return json.dumps(
        {
            "tags": sorted(entry.tags),
            "snapshot": entry.snapshot,
            "created_at": entry.created_at,
            "revalidate": entry.revalidate,
            "content_type": entry.content_type,
            "etag": entry.etag,
            "made_by": entry.made_by,
            "encoded": [[coding, len(body)] for coding, body in entry.encoded],
        }
    )


def _blob(entry: Entry) -> bytes:
    """The plain body, then each compressed variant (their lengths are in the meta)."""
    return b"".join([entry.body, *(body for _, body in entry.encoded)])


def _entry_from(key: str, meta: dict[str, Any], blob: bytes) -> Entry:
    """The entry ``put`` stored: the plain body is what the variants leave of the blob."""
    encoded = []
    end = len(blob)
    for coding, length in reversed(meta.get("encoded", [])):
        encoded.append((coding, blob[end - length : end]))
        end -= length
    return Entry(
        key=key,
        body=blob[:end],
        encoded=tuple(reversed(encoded)),
        tags=frozenset(meta["tags"]),
        snapshot=int(meta["snapshot"]),
        created_at=float(meta["created_at"]),
        revalidate=meta["revalidate"],
        content_type=meta["content_type"],
        etag=meta["etag"],
        made_by=meta.get("made_by", ""),
    )
