"""Cache tag names of ticket data, named once, and which tags a write moves.

A tag names one thing a render read, so that a write moves only what it
changed: a status change re-renders the counts, the lists filtered by
either status and the ticket's own row and page, not the unfiltered list
(whose rows are its own fragments: the row alone is re-rendered).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models import TicketStatus

ALL = "tickets:all"  # which tickets exist: the unfiltered list
SEARCH = "tickets:search"  # which tickets any search finds: existence, titles, contents
COUNTS = "tickets:counts"  # how many tickets have each status
STATUSES = "statuses"  # the status vocabulary itself (the legend)


def ticket(ticket_id: str) -> str:
    """One ticket's own data: its row and its page."""
    return f"ticket:{ticket_id}"


def status(value: TicketStatus) -> str:
    """Which tickets have this status: the list filtered by it."""
    return f"tickets:status:{value.value}"


@dataclass(frozen=True, slots=True)
class Written:
    """What a write changed of one ticket, as much as the tags need to know."""

    ticket_id: str
    statuses: frozenset[TicketStatus]  # before and after (one for a create or a delete)
    created_or_deleted: bool = False
    text_changed: bool = False  # title or content


def came_or_went(ticket_id: str, status: TicketStatus) -> Written:
    """A create or a delete."""
    return Written(ticket_id, frozenset([status]), created_or_deleted=True)


def moved_by(write: Written) -> list[str]:
    """The tags a write moves, in a stable order."""
    moved = [ticket(write.ticket_id)]
    if write.created_or_deleted:
        moved += [ALL, SEARCH]
    elif write.text_changed:
        moved.append(SEARCH)
    if write.created_or_deleted or len(write.statuses) > 1:
        moved += [COUNTS, *(status(s) for s in sorted(write.statuses))]
    return moved
