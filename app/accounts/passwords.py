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
# wrong password does (no timing tells which emails have accounts). What it
# costs is in its parameters, not its password or salt: so it is made once,
# here, rather than at every start of every process (0.5 s of CPU each). Made
# again, on first use, only if the hasher's parameters are no longer these.
_MADE_DECOY = (
    "$argon2id$v=19$m=65536,t=3,p=4$X4ASCSRy/u/TUc484VJ9sg$"
    "aqWYKvdyNhfB9FaXWIFrTkt/icGsD20m22lhhTTcdsM"
)  # PasswordHasher().hash("no account has this password"), argon2-cffi 25.1
_decoys = [_MADE_DECOY] if not _hasher.check_needs_rehash(_MADE_DECOY) else []


def _decoy() -> str:
    """The decoy hash, made by the first call that needs it if the one above is out of date."""
    if not _decoys:
        _decoys.append(_hasher.hash("no account has this password"))
    return _decoys[0]


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
            return _hasher.verify(stored or _decoy(), password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
