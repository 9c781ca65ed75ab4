"""Passwords, hashed with Argon2id (argon2-cffi's defaults: 64 MiB, 3 passes;
``Passwords``, one per app).

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

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# What a process may hash with (``PASSWORD_HASHING``): argon2-cffi's defaults
# (RFC 9106's low-memory profile), or its cheapest parameters, which protect
# nothing and are for test suites alone (tests/conftest.py), where the
# defaults' ~0.18 s of CPU per sign-up and login added up to minutes.
HASHINGS = {
    "standard": PasswordHasher,
    "cheapest": lambda: PasswordHasher.from_parameters(profiles.CHEAPEST),
}

# Verified when the email has no account, so that a wrong email costs what a
# wrong password does (no timing tells which emails have accounts). What it
# costs is in its parameters, not its password or salt: so it is made once,
# here, rather than at every start of every process (0.5 s of CPU each). Made
# again, on first use, only if the hasher's parameters are no longer these.
_MADE_DECOY = (
    "$argon2id$v=19$m=65536,t=3,p=4$X4ASCSRy/u/TUc484VJ9sg$"
    "aqWYKvdyNhfB9FaXWIFrTkt/icGsD20m22lhhTTcdsM"
)  # PasswordHasher().hash("no account has this password"), argon2-cffi 25.1


class Passwords:
    """Hashing and checking passwords, with one ``HASHINGS`` choice's parameters."""

    def __init__(self, hashing: str = "standard") -> None:
        if hashing not in HASHINGS:
            raise ValueError(
                f"PASSWORD_HASHING must be one of {', '.join(HASHINGS)}, got {hashing!r}"
            )
        self._hasher: PasswordHasher = HASHINGS[hashing]()
        self._decoys = [_MADE_DECOY] if not self._hasher.check_needs_rehash(_MADE_DECOY) else []

    def decoy(self) -> str:
        """The decoy hash, made by the first call that needs it if the one above
        was made with other parameters."""
        if not self._decoys:
            self._decoys.append(self._hasher.hash("no account has this password"))
        return self._decoys[0]

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (None: no such account)."""

        def verify() -> bool:
            try:
                return self._hasher.verify(stored or self.decoy(), password) and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)


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
