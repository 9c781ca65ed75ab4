"""The connection to Redis: a client that fails fast, and a pause after a failure."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.cache.errors import StoreUnavailable

SOCKET_TIMEOUT = 1.0  # for every call to Redis, a ping of the invalidation channel included
RETRY_AFTER_FAILURE = 1.0  # seconds without trying Redis after it failed


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
        # A pooled connection that a Redis restart closed is retried once at
        # once; a Redis that is really gone still fails fast (refused).
        retry=Retry(NoBackoff(), retries=1),
        retry_on_error=[RedisConnectionError],
    )


class Breaker:
    """Awaits Redis calls: any failure is StoreUnavailable, and a pause of
    ``retry_after`` seconds.

    During the pause, calls fail at once, except ``always`` ones: a bump
    that waited out the pause while Redis was back would let the other
    processes serve what it expires.
    """

    def __init__(self, retry_after: float = RETRY_AFTER_FAILURE) -> None:
        self.retry_after = retry_after
        self._down_until = 0.0

    async def __call__(self, awaitable: Any, *, always: bool = False) -> Any:
        if not always and time.monotonic() < self._down_until:
            awaitable.close()  # a coroutine never awaited would warn
            raise StoreUnavailable("redis is down; retrying shortly")
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + self.retry_after
            raise StoreUnavailable(f"redis: {exc}") from exc
