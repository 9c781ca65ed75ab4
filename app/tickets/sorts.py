"""The orders a list can be in, and where a row stands in each.

Each order is newest (or most) first and total: its key ends with the
ticket's id, so a cursor (a row's key) splits a list in two whatever ties
there are. ``created`` is the default and the search index's own order;
``updated`` moves a ticket to the top when it is edited; ``comments`` puts
the most discussed first, newest first among equals.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime

from starlette.exceptions import HTTPException

from app.models import Ticket


class Sort(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    COMMENTS = "comments"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Sort.CREATED: "Newest",
    Sort.UPDATED: "Recently updated",
    Sort.COMMENTS: "Most comments",
}


def parse_sort(params: Mapping[str, str]) -> Sort:
    """``?sort=``, created when absent; an unknown value is a 400 with a message."""
    if not params.get("sort"):
        return Sort.CREATED
    try:
        return Sort(params["sort"])
    except ValueError:
        allowed = ", ".join(sort.value for sort in Sort)
        raise HTTPException(400, f"Unknown sort; use one of {allowed}.") from None


def moment_of(ticket: Ticket, sort: Sort) -> datetime:
    """The moment a ticket is ordered by: its last update under ``updated``,
    else its creation (the tie-break of ``comments``)."""
    return utc(ticket.updated_at if sort is Sort.UPDATED else ticket.created_at)


def utc(moment: datetime) -> datetime:
    # SQLite hands back the naive UTC time that was stored; PostgreSQL an aware one.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
