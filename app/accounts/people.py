"""Making an account: one per email, and the first one made is the admin.

Both are decided by the database, so that sign-ups racing each other cannot
both win: the email column is unique (the loser's insert fails:
``EmailTaken``), and the first account is the one whose insert of the single
``FirstAccount`` row succeeds (``INSERT ... ON CONFLICT DO NOTHING``: on
PostgreSQL a second insert waits for the first's transaction, then does
nothing if it committed; SQLite has one writer at a time). Counting the
accounts and then inserting let two first sign-ups both count none.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import FirstAccount, User


class EmailTaken(Exception):
    """Another account has this email (maybe made a moment ago, at the same time)."""


async def add_person(session: AsyncSession, *, name: str, email: str, password_hash: str) -> User:
    """A new account in ``session``'s transaction (roll it back on ``EmailTaken``)."""
    user = User(name=name, email=email, password_hash=password_hash)
    user.is_admin = await _first(session, user.id)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # the email's unique constraint: the only one that can fail
        raise EmailTaken(email) from exc
    return user


async def _first(session: AsyncSession, user_id: str) -> bool:
    """Whether ``user_id`` takes the first account's seat (no account took it before)."""
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    claim = dialect.insert(FirstAccount).values(id=1, user_id=user_id).on_conflict_do_nothing()
    taken = await session.exec(claim)
    return bool(taken.rowcount == 1)
