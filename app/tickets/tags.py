"""Cache tag names of ticket data, named once."""

from __future__ import annotations

TICKETS = "tickets"  # any ticket's existence, title, status: lists and counts
STATUSES = "statuses"  # the status vocabulary itself (the legend)


def ticket(ticket_id: str) -> str:
    """One ticket's own data: its page."""
    return f"ticket:{ticket_id}"
