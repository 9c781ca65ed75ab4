"""Tries that cost a password hash are counted, and past a limit refused (429).

What is counted, and why no count is the account's alone:

- ``address``: every login from one client address, whatever the account
  (``ADDRESS_LIMIT``): one place guessing many accounts;
- ``account from address``: logins to one account from one address
  (``ACCOUNT_LIMIT``): one place guessing one account;
- ``signup``: sign-ups from one address (``SIGNUP_LIMIT``): each costs a hash.

A count of the account alone, from anywhere, would let anyone who knows an
email lock its owner out (ten wrong passwords, every fifteen minutes). So
the guesser is slowed where they are, and the owner signs in from their own
address as if nothing happened. A guesser with many addresses gets
``ACCOUNT_LIMIT`` tries per address per ``WINDOW``, each an Argon2 verify:
the price of never locking anyone out (README, "People").

A try is counted *before* its password is checked, atomically: its rows
are inserted, then each key's rows within ``WINDOW`` counted, in one
transaction that holds its keys while it counts (SQLite: the write lock its
first insert takes; PostgreSQL: an advisory lock per key, taken before the
insert, since there concurrent inserts do not see each other). So tries
sent at once are counted one after the other: of 30 wrong passwords at
once, 10 reach the check. A refused try raises ``TooMany``, which rolls its
rows back: waiting is not guessing. A login that succeeds forgets its rows
and its account's from its address. Kept in the database, so that every
process counts the same tries.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, func, or_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import LoginFailure, utcnow

ACCOUNT_LIMIT = 10
ADDRESS_LIMIT = 30  # a few people behind one address may all mistype
SIGNUP_LIMIT = 10
WINDOW = timedelta(minutes=15)
KEY_MAX = 320  # LoginFailure.key
LOCKS = 0x7468726F  # PostgreSQL: the advisory lock space of these keys ("thro")

Limit = tuple[str, int]  # a key, and how many tries it may count within WINDOW


class TooMany(Exception):
    """A try over a limit: answered 429, after ``retry_after`` seconds it may be tried."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many tries: again in {retry_after} s")
        self.retry_after = retry_after


def _key(text_: str) -> str:
    """A key that fits its column: a long one (a long email) is named by its digest."""
    if len(text_) <= KEY_MAX:
        return text_
    return f"sha256:{hashlib.sha256(text_.encode()).hexdigest()}"


def login_limits(email: str, address: str) -> list[Limit]:
    return [
        (_key(f"address:{address}"), ADDRESS_LIMIT),
        (account_key(email, address), ACCOUNT_LIMIT),
    ]


def account_key(email: str, address: str) -> str:
    return _key(f"account:{email} address:{address}")


def signup_limits(address: str) -> list[Limit]:
    return [(_key(f"signup:{address}"), SIGNUP_LIMIT)]


async def attempt(session: AsyncSession, limits: Sequence[Limit]) -> list[int]:
    """Count one try against each limit; the ids of its rows (``succeeded`` forgets
    them). Raises ``TooMany`` when one is over: let it roll the transaction back."""
    await _hold(session, sorted(key for key, _ in limits))
    now = utcnow()
    since = now - WINDOW
    rows = [LoginFailure(key=key, at=now) for key, _ in limits]
    session.add_all(rows)
    await session.flush()  # the insert first: on SQLite it takes the write lock
    await session.exec(delete(LoginFailure).where(col(LoginFailure.at) < since))
    waits = []
    for key, limit in limits:
        recent = await session.exec(
            select(func.count(), func.min(LoginFailure.at))
            .where(col(LoginFailure.key) == key)
            .where(col(LoginFailure.at) >= since)
        )
        count, oldest = recent.one()
        if count > limit:
            frees_at = oldest.replace(tzinfo=now.tzinfo) + WINDOW
            waits.append(max(1, math.ceil((frees_at - now).total_seconds())))
    if waits:
        raise TooMany(max(waits))
    return [row.id for row in rows if row.id is not None]


async def succeeded(session: AsyncSession, rows: Sequence[int], email: str, address: str) -> None:
    """The owner got in: this try is no failure, and their account's count from
    this address starts again (the address's other tries still count)."""
    await session.exec(
        delete(LoginFailure).where(
            or_(
                col(LoginFailure.id).in_(rows),
                col(LoginFailure.key) == account_key(email, address),
            )
        )
    )


async def _hold(session: AsyncSession, keys: Sequence[str]) -> None:
    """PostgreSQL: hold each key until COMMIT, in one order (no deadlock)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return  # SQLite: one writer at a time, from the first insert to COMMIT
    for key in keys:
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": LOCKS, "key": key},
        )
