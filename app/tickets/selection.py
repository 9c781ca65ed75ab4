"""A bulk action as the list posts it: which tickets, and what to do to them.

``POST /tickets/bulk`` takes ``ids`` (repeated: the rows' checkboxes),
``action`` (``status``, ``assign`` or ``delete``) and, for the first two,
``status`` or ``assignee``. Everything here is checked before any read, so
that a bad request is refused (422, or 413 past ``MAX_TICKETS``) having
touched nothing; who the tickets are and who may change them is
app/tickets/bulk.py's to say, in the write's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException

from app.forms import CONTROL
from app.models import ID_MAX, TicketStatus, is_id

MAX_TICKETS = 100  # per request: one transaction holds their row locks
STATUS = "status"
ASSIGN = "assign"
DELETE = "delete"
ACTIONS = (STATUS, ASSIGN, DELETE)
# A ticket id as the app makes them (routes.TicketIdConvertor): any other
# value names no ticket, and is refused as one that is not found.

NOTHING_SELECTED = "Select at least one ticket."
UNKNOWN_ACTION = "Choose what to do to the selected tickets: status, assign or delete."
NO_ASSIGNEE = "Choose whom to assign the selected tickets to: me, a person, or nobody."


@dataclass(frozen=True, slots=True)
class Selection:
    ids: tuple[str, ...]  # in the order they were posted, each once
    action: str
    status: TicketStatus | None = None
    assignee: str | None = None  # as posted (app/tickets/assignees.py resolves it)
    confirmed: bool = False  # a delete asked for again, without JavaScript


def ticket_ids(posted: Sequence[Any]) -> tuple[str, ...]:
    """The ids posted, each once, in order: none is 422, more than ``MAX_TICKETS`` 413."""
    if len(posted) > MAX_TICKETS:
        raise HTTPException(
            413, f"At most {MAX_TICKETS} tickets at once: {len(posted)} were selected."
        )
    wanted = tuple(dict.fromkeys(str(value) for value in posted if isinstance(value, str)))
    if not wanted:
        raise HTTPException(422, NOTHING_SELECTED)
    return wanted


def well_formed(ticket_id: str) -> bool:
    """Whether ``ticket_id`` can be a ticket's at all (others need no read to be unknown)."""
    return is_id(ticket_id)


def parse(posted: Any) -> Selection:
    """The ``Selection`` a form posted (a Starlette ``FormData``), or a refusal."""
    wanted = ticket_ids(posted.getlist("ids"))
    action = posted.get("action")
    if action not in ACTIONS:
        raise HTTPException(422, UNKNOWN_ACTION)
    confirmed = posted.get("confirmed") == "yes"
    if action == STATUS:
        return Selection(wanted, action, status=_status(posted.get("status")))
    if action == ASSIGN:
        assignee = posted.get("assignee")
        if not isinstance(assignee, str) or CONTROL.search(assignee) or len(assignee) > ID_MAX:
            raise HTTPException(422, NO_ASSIGNEE)
        return Selection(wanted, action, assignee=assignee.strip())
    return Selection(wanted, action, confirmed=confirmed)


def _status(posted: object) -> TicketStatus:
    try:
        return TicketStatus(posted if isinstance(posted, str) else "")
    except ValueError:
        allowed = ", ".join(status.value for status in TicketStatus)
        raise HTTPException(422, f"The status must be one of {allowed}.") from None
