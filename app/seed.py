"""Fill the database: a few demo tickets, or many generated ones.

    python -m app.seed            # demo tickets in an empty database (scripts/run)
    python -m app.seed 100000     # add 100,000 generated tickets (scripts/seed N)

Both create the schema first if the database has none. Generated tickets
read like a real tracker's (areas, symptoms, browsers, customers), have
statuses in realistic shares and creation times spread over two years, and
are inserted in batches inside one transaction, search words included.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import select
from tqdm import tqdm  # type: ignore[import-untyped]  # ships no type hints

from app.db import Database
from app.models import Ticket, TicketStatus, utcnow
from app.search import search_text
from app.settings import Settings
from app.tickets import numbers

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

BATCH = 2_000
SPREAD = timedelta(days=730)

AREAS = [
    "Checkout", "Invoice PDF", "Login page", "Search", "Dashboard", "Export to CSV",
    "Password reset", "Mobile app", "Notifications", "Billing", "Onboarding", "Settings page",
    "Café menu", "Crème brûlée recipe page", "Order history", "Shipping labels", "API tokens",
    "Team invitations", "Calendar sync", "Image upload",
]  # fmt: skip
SYMPTOMS = [
    "is slow", "shows a blank page", "crashes", "times out", "shows the wrong total",
    "ignores the language setting", "loses its filters", "sends two emails",
    "breaks on small screens", "returns a 500", "forgets the selection",
    "shows yesterday's data", "rounds prices wrongly", "cannot be reached by keyboard",
]  # fmt: skip
CONTEXTS = [
    "on Safari", "on Firefox", "on Android", "after the last release", "for German users",
    "with more than 100 items", "in dark mode", "behind the corporate proxy",
    "when the session expires", "for accounts created before 2024", "on the first visit",
]  # fmt: skip
DETAILS = [
    "Reported by {customer}: it started on {day}.",
    "Steps: open the page, wait ten seconds, then reload. It happens about {share}% of the time.",
    "{customer} says it blocks their month-end closing; they need a fix or a workaround.",
    "Seen in the logs since {day}; no error on the server side.",
    "Happens only when the cart holds a gift card; others are fine.",
    "Probably linked to the new caching layer; worth checking the invalidation.",
    "Support has {share} tickets about it this week.",
]
CUSTOMERS = ["Zoë at Acme", "Jürgen from Müller GmbH", "Ana (São Paulo office)", "Ben", "Chloé"]
STATUSES = [TicketStatus.OPEN] * 5 + [TicketStatus.IN_PROGRESS] * 2 + [TicketStatus.DONE] * 3


async def seed_demo(database_url: str) -> int:
    """Add the demo tickets if there are none; return how many were added."""
    db = Database(database_url)
    try:
        await db.create_schema()
        async with db.transaction() as session:
            existing = (await session.exec(select(func.count()).select_from(Ticket))).one()
            if existing:
                return 0
            given = await numbers.take(session, len(DEMO_TICKETS))
            for (title, content, status), number in zip(DEMO_TICKETS, given, strict=True):
                session.add(Ticket(title=title, content=content, status=status, number=number))
        return len(DEMO_TICKETS)
    finally:
        await db.close()


def generate(
    count: int, *, seed: int = 42, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """``count`` ticket rows, oldest first, created over the two years before ``now``."""
    rng = random.Random(seed)
    end = now or utcnow()
    start = end - SPREAD
    step = SPREAD / max(count, 1)
    for i in range(count):
        title = f"{rng.choice(AREAS)} {rng.choice(SYMPTOMS)} {rng.choice(CONTEXTS)}"
        content = " ".join(
            rng.choice(DETAILS).format(
                customer=rng.choice(CUSTOMERS),
                day=(start + step * i).strftime("%d %B"),
                share=rng.randint(2, 60),
            )
            for _ in range(rng.randint(1, 3))
        )
        created_at = start + step * i + timedelta(microseconds=rng.randint(0, 999))
        yield {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "title": title,
            "content": content,
            "status": rng.choice(STATUSES),
            "created_at": created_at,
            "updated_at": created_at,
            "search_text": search_text(title, content),
        }


async def seed_many(database_url: str, count: int, *, progress: bool = False) -> int:
    """Add ``count`` generated tickets in one transaction; return how many."""
    db = Database(database_url)
    try:
        await db.create_schema()
        with tqdm(total=count, unit="ticket", disable=not progress, file=sys.stderr) as bar:
            async with db.transaction() as session:
                connection = await session.connection()
                given = iter(await numbers.take(session, count))
                rows = generate(count, seed=random.randrange(1 << 30))
                while batch := list(islice(rows, BATCH)):
                    for row in batch:
                        row["number"] = next(given)
                    await connection.execute(insert(Ticket), batch)
                    bar.update(len(batch))
        return count
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, help="generated tickets to add")
    args = parser.parse_args(argv)
    url = Settings.from_env().database_url
    if args.count is None:
        added = asyncio.run(seed_demo(url))
        print(
            f"seed: {added} demo tickets added" if added else "seed: database already has tickets"
        )
        return
    if args.count < 0:
        parser.error("count must be 0 or more")
    asyncio.run(seed_many(url, args.count, progress=True))
    print(f"seed: {args.count} tickets added", file=sys.stderr)


if __name__ == "__main__":
    main()
