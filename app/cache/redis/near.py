"""The near copy: hot entries a process keeps by itself (``?near=1`` in the URL).

Served with no round trip while the invalidation channel is heard: every
bump, ours or heard from another process, drops the copies holding its tags
first, and a lost or silent channel drops them all and stops their use until
it is back. Off by default: a near copy is as current as the channel's news
(``SILENCE_LIMIT`` behind at worst: pings unanswered), where a read from Redis
is exact; the staleness bound between processes is 1 s either way. Without
it, every HIT brings its body back from Redis. For a visitor with a
read-after clock (their last write), a copy is used only once this process
has heard that write (``heard.py``, ``RedisStore.catch_up``).
"""

from __future__ import annotations

from collections import OrderedDict

from app.cache.entry import Entry

NEAR_MAX_BYTES = 32 * 1024 * 1024


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
