"""Where each process leaves its latest cache figures for the others: the
admin page's view of the whole cluster (``app/cache/timeline.py``).

One key per process, ``{p}:figures:{name}``, written every sample with a
time to live of a few samples: a process that stops is gone from the sum
soon after, with nothing to clean up.
"""

from __future__ import annotations

import redis.asyncio as redis

from app.cache.redis.client import Breaker


class RedisBoard:
    def __init__(self, client: redis.Redis, prefix: str, call: Breaker) -> None:
        self.client = client
        self.pattern = f"{prefix}:figures:"
        self._call = call

    async def post(self, name: str, text: str, ttl_seconds: float) -> None:
        await self._call(self.client.set(self.pattern + name, text, px=int(ttl_seconds * 1000)))

    async def read(self) -> dict[str, str]:
        """Every live process's latest figures, by process name."""
        keys = [key async for key in self.client.scan_iter(match=self.pattern + "*", count=100)]
        if not keys:
            return {}
        values = await self._call(self.client.mget(keys))
        return {
            key.decode()[len(self.pattern) :]: value.decode()
            for key, value in zip(keys, values, strict=True)
            if value is not None  # gone between the scan and the read
        }
