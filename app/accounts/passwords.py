"""Passwords, hashed with Argon2id (argon2-cffi's defaults: 64 MiB, 3 passes).

A hash takes a long time and much memory by design (bench/README.md has the
figure), so:

- it runs in a worker thread: a login must not stall every other request on
  the event loop;
- it runs outside any database transaction: no pooled connection is held
  while it runs (app/accounts/routes.py);
- at most ``HashSlots.size`` run at once per process (``HASH_CONCURRENCY``,
  the cores by default): a try that finds them all taken is refused at once
  (``Busy``: 503 with ``Retry-After``) instead of queueing, so a burst of
  sign-ups and logins costs the process its cores for a moment, never its
  memory, its connections or every other request's latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified when the email has no account, so that a wrong email costs what a
# wrong password does (no timing tells which emails have accounts).
_DECOY = _hasher.hash("no account has this password")

RETRY_AFTER = 1  # seconds: a hash takes a fraction of one


class Busy(Exception):
    """Every hashing slot is taken: answered 503 with ``Retry-After``."""


class HashSlots:
    """How many hashes may run at once in this process, and how many do."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"HASH_CONCURRENCY must be at least 1, got {size}")
        self.size = size
        self.taken = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """A slot for one hash, given back on exit; ``Busy`` when none is free."""
        if self.taken >= self.size:
            raise Busy()
        self.taken += 1
        try:
            yield
        finally:
            self.taken -= 1


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account)."""

    def verify() -> bool:
        try:
            return _hasher.verify(stored or _DECOY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
