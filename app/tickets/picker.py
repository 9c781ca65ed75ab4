"""A ticket's assignee picker: everyone who can be assigned, by name.

Not part of the ticket's page: the page holds a placeholder that loads it
from its own source (``paths.assignee_picker_path``), so what the picker
reads (the membership of ``app_user`` and every name) stays out of the
page's entry. The list's bulk bar loads its options the same way
(``assignee_options``), so no list page reads them either. A sign-up then
moves the pickers, each re-rendered when next asked for, and no page; a
rename moves the pickers and the pages that show that person, no others.
The picker is live: an open page re-fetches it when its tags move; the bar's
options are fetched again each time the bar shows.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

from app import paths
from app.db import database
from app.templating import render
from app.tickets import queries
from app.tickets.views import NOT_FOUND


async def assignee_picker(request: Request, ticket_id: str) -> str:
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
        if ticket is None:
            raise HTTPException(404, NOT_FOUND)
        members = await queries.members(session)
    return render(
        "tickets/_assignee_picker.html",
        ticket=ticket,
        members=members,
        source=paths.assignee_picker_path(ticket_id),
    )


async def assignee_options(request: Request) -> str:
    """The bulk bar's assignee options: me, nobody, then everyone by name."""
    async with database(request).session() as session:
        members = await queries.members(session)
    return render("tickets/_assignee_options.html", members=members)
