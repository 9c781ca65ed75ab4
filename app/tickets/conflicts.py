"""The answer to a save that clashes with someone else's (409, nothing changed).

It shows each clashing field twice, the person's value and the current one,
and offers two ways on, both plain forms (no JavaScript needed), both made
from the ticket's version now (app/tickets/versions.py):

- **Keep mine** posts every field the person changed, as they wrote it;
- **Take the current one** posts only their other changes (a link back to
  the ticket when there are none): the clashing fields stay as they are.

Without htmx it is the ticket's page with the panel in its open Edit; with
htmx, the panel alone, swapped in place of the edit form.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app import ids
from app.db import database
from app.htmx import HtmxDetails, hx_no_history, hx_retarget
from app.models import Ticket
from app.notices import notify
from app.templating import render
from app.tickets import queries, views
from app.tickets.forms import LABELS
from app.tickets.history import as_text
from app.tickets.timeline import in_words
from app.tickets.versions import Merge

STATUS = 409
SAID = "Not saved: someone else changed this ticket meanwhile. Choose which values to keep."


@dataclass(frozen=True, slots=True)
class Shown:
    """One clashing field, in words."""

    field: str
    label: str
    theirs: str
    current: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """What the panel shows and what its two forms post."""

    shown: list[Shown]
    version: int
    keep: dict[str, str]  # every field the person changed
    take: dict[str, str]  # the others' values stay: only the person's other changes


async def answer(request: Request, ticket: Ticket, merge: Merge) -> Response:
    conflict = await conflict_of(request, merge)
    if HtmxDetails(request):
        body = render("tickets/_conflict.html", conflict=conflict, ticket=ticket)
        selector = f"#{ids.FORM}, #{ids.CONFLICT}"  # the edit form, or a panel answered before
        return notify(hx_no_history(hx_retarget(HTMLResponse(body, STATUS), selector)), SAID)
    page = await views.ticket_page(request, ticket.id, conflict=conflict)
    return HTMLResponse(page, STATUS)


async def conflict_of(request: Request, merge: Merge) -> Conflict:
    named = [v for c in merge.clashes if c.field == "assignee" for v in (c.theirs, c.current)]
    async with database(request).session() as session:
        people = await queries.people(session, named)
    shown = [
        Shown(
            clash.field,
            LABELS[clash.field].capitalize(),
            in_words(clash.field, clash.theirs, people) or "nobody",
            in_words(clash.field, clash.current, people) or "nobody",
        )
        for clash in merge.clashes
    ]
    clashing = {clash.field for clash in merge.clashes}
    keep = {field: as_text(value) for field, value in merge.values.items()}
    take = {field: value for field, value in keep.items() if field not in clashing}
    return Conflict(shown, merge.version, keep, take)
