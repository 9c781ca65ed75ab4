"""Redis as the shared store, for many processes and hosts.

``RedisStore`` (``store.py``) keeps the entries, stamps and leases, each read,
write and bump one round trip (``lua.py``), over a client that fails fast
(``client.py``); ``codec.py`` turns an entry into what Redis holds and back.
With ``?near=1``, a ``NearCopy`` (``near.py``) keeps hot entries in the
process, kept true by the invalidation ``Channel`` (``channel.py``) that the
store owns. Each process knows up to which clock it has heard the
channel (``heard.py``): a visitor's read-after clock waits for it.
"""

from __future__ import annotations

from app.cache.redis.channel import SILENCE_LIMIT, Channel
from app.cache.redis.near import NearCopy
from app.cache.redis.store import RedisStore

__all__ = ["SILENCE_LIMIT", "Channel", "NearCopy", "RedisStore"]
