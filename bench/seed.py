"""Fill a fresh database with N tickets through app.db, before any server starts."""

from __future__ import annotations

from app.db import Database
from app.models import Ticket, TicketStatus


async def fill(database_url: str, count: int) -> list[str]:
    """Create the schema and ``count`` tickets; return their ids."""
    db = Database(database_url)
    statuses = list(TicketStatus)
    try:
        await db.create_schema()
        async with db.transaction() as session:
            tickets = [
                Ticket(
                    title=f"Bench ticket {i}",
                    content=f"Body of bench ticket {i}, long enough to look like a real one.",
                    # Mixed statuses, so the counts fragment has real numbers to show.
                    status=statuses[i % len(statuses)],
                )
                for i in range(count)
            ]
            session.add_all(tickets)
        return [ticket.id for ticket in tickets]
    finally:
        await db.close()
