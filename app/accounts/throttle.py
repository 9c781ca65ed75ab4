"""Wrong passwords slow the next tries down, per account and per client address.

After ``LIMIT`` wrong passwords within ``WINDOW`` aimed at one account (or sent
from one address), logins to it (from it) get 429 with ``Retry-After`` until
the oldest of them leaves the window: nobody is locked out for good, and a
guesser gets ``LIMIT`` tries per window. Kept in the database, so that every
process counts the same tries.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import LoginFailure, utcnow

LIMIT = 10
WINDOW = timedelta(minutes=15)


def keys(email: str, client: str) -> list[str]:
    return [f"account:{email}", f"client:{client}"]


async def retry_after(session: AsyncSession, email: str, client: str) -> int | None:
    """Seconds until a login may be tried again, or None if it may now."""
    since = utcnow() - WINDOW
    waits = []
    for key in keys(email, client):
        recent = await session.exec(
            select(func.count(), func.min(LoginFailure.at))
            .where(col(LoginFailure.key) == key)
            .where(col(LoginFailure.at) >= since)
        )
        count, oldest = recent.one()
        if count >= LIMIT:
            frees_at = oldest.replace(tzinfo=since.tzinfo) + WINDOW
            waits.append(max(1, math.ceil((frees_at - utcnow()).total_seconds())))
    return max(waits) if waits else None


async def failed(session: AsyncSession, email: str, client: str) -> None:
    """Count a wrong password (and forget ones older than the window)."""
    await session.exec(delete(LoginFailure).where(col(LoginFailure.at) < utcnow() - WINDOW))
    for key in keys(email, client):
        session.add(LoginFailure(key=key))


async def succeeded(session: AsyncSession, email: str) -> None:
    """The owner got in: their account's count starts again (the address's does not)."""
    await session.exec(delete(LoginFailure).where(col(LoginFailure.key) == f"account:{email}"))
