"""Moved to tests.support; kept for tests/conftest.py and tests/cache/test_redis.py."""

from tests.support import AppServer, RedisServer, free_port

__all__ = ["AppServer", "RedisServer", "free_port"]
