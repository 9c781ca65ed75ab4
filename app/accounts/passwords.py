"""Passwords, hashed with Argon2id (argon2-cffi's defaults: 64 MiB, 3 passes).

A hash takes a long time by design (bench/README.md has the figure), so both
run in a worker thread: a login must not stall every other request on the
event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified when the email has no account, so that a wrong email costs what a
# wrong password does (no timing tells which emails have accounts).
_DECOY = _hasher.hash("no account has this password")


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
