"""Thin typed reads. Each tags the render in progress before it reads."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cache import cache_tag
from app.models import Ticket, TicketStatus
from app.tickets import tags


async def list_tickets(session: AsyncSession) -> list[Ticket]:
    """Every ticket, newest first."""
    cache_tag(tags.TICKETS)
    statement = select(Ticket).order_by(col(Ticket.created_at).desc(), col(Ticket.id))
    return list(await session.exec(statement))


async def get_ticket(session: AsyncSession, ticket_id: str) -> Ticket | None:
    cache_tag(tags.ticket(ticket_id))
    return await session.get(Ticket, ticket_id)


async def count_by_status(session: AsyncSession) -> dict[TicketStatus, int]:
    """How many tickets have each status, every status present (0 if none)."""
    cache_tag(tags.TICKETS)
    statement = select(Ticket.status, func.count()).group_by(col(Ticket.status))
    counts = dict.fromkeys(TicketStatus, 0)
    for status, count in await session.exec(statement):
        counts[TicketStatus(status)] = count
    return counts
