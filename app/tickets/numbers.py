"""Short ticket numbers: #1, #2, ... in the order tickets are made.

One counter row (``ticket_number``) is moved by each create in the create's
own transaction: its row lock makes concurrent creates wait for each other
on PostgreSQL (SQLite's writers already do), so no number is given twice,
and a rolled-back create gives its number back. No render reads the counter.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import TicketNumber


async def take(session: AsyncSession, count: int = 1) -> range:
    """``count`` new numbers, in order: the caller's transaction owns them."""
    moved = await session.exec(
        update(TicketNumber)
        .where(col(TicketNumber.id) == 1)
        .values(last=col(TicketNumber.last) + count)
        .returning(col(TicketNumber.last))
    )
    last: int = moved.scalar_one()
    return range(last - count + 1, last + 1)
