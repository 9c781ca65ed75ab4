"""Create the schema and, in an empty database, a handful of demo tickets.

python -m app.seed            # what scripts/run does before serving
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func
from sqlmodel import select

from app.db import Database
from app.models import Ticket, TicketStatus
from app.settings import Settings

DEMO_TICKETS = [
    (
        "Checkout button does nothing on Safari",
        "Clicking 'Pay' on iOS 17 leaves the spinner turning forever.",
        TicketStatus.OPEN,
    ),
    (
        "Invoice PDFs show the wrong VAT rate",
        "Orders shipped to Austria print 19% instead of 20%.",
        TicketStatus.IN_PROGRESS,
    ),
    (
        "Add dark mode to the dashboard",
        "Several customers asked for it; follow the system setting.",
        TicketStatus.OPEN,
    ),
    (
        "Password reset emails arrive twice",
        "The job is enqueued by both the API and the worker.",
        TicketStatus.DONE,
    ),
    ("Search ignores accents", "Searching 'cafe' should find 'café'.", TicketStatus.OPEN),
]


async def seed(database_url: str) -> int:
    """Add the demo tickets if there are none; return how many were added."""
    db = Database(database_url)
    try:
        await db.create_schema()
        async with db.transaction() as session:
            existing = (await session.exec(select(func.count()).select_from(Ticket))).one()
            if existing:
                return 0
            for title, content, status in DEMO_TICKETS:
                session.add(Ticket(title=title, content=content, status=status))
        return len(DEMO_TICKETS)
    finally:
        await db.close()


def main() -> None:
    added = asyncio.run(seed(Settings.from_env().database_url))
    print(f"seed: {added} demo tickets added" if added else "seed: database already has tickets")


if __name__ == "__main__":
    main()
