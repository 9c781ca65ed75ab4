"""Each page and fragment of the tickets feature: read its data, render it.

A GET reads its data here and only here; routes and actions call these.
Each page is one template whose ``main`` block is its partial (what htmx
swaps in), so the full page and the htmx answer are the same markup.

A live fragment (one that pages re-fetch when its data changes) is a
``fragment()`` whose render reads its data, then renders a template whose
root element carries ``{{ live(its_source_path()) }}``; a route under
``/fragments/`` serves it alone. ``counts`` and ``ticket_list`` are two.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.cache import fragment
from app.db import database
from app.htmx import wants_partial
from app.models import Ticket
from app.templating import render
from app.tickets import queries, tags
from app.tickets.forms import TicketForm

NOT_FOUND = "No ticket has this id; it may have been deleted."


def page(request: Request, template: str, **context: Any) -> str:
    block = "main" if wants_partial(request) else None
    return render(template, block=block, **context)


# -- live fragments -------------------------------------------------------


async def counts(request: Request) -> Markup:
    async def render_counts() -> str:
        async with database(request).session() as session:
            by_status = await queries.count_by_status(session)
        return render("tickets/_counts.html", counts=by_status, total=sum(by_status.values()))

    return Markup(await fragment("ticket-counts", render_counts))


async def ticket_list(request: Request) -> Markup:
    async def render_list() -> str:
        async with database(request).session() as session:
            tickets = await queries.list_tickets(session)
        return render("tickets/_list.html", tickets=tickets)

    return Markup(await fragment("ticket-list", render_list))


async def ticket_source(request: Request, ticket_id: str) -> str:
    """A ticket page's live part; or, once the ticket is deleted, a notice saying so.

    The notice is a 200 rendered on every request (never stored: any id
    would get one): a tab that had the ticket open re-fetches this when the
    ticket's tag moves, and a 404 there would be a failed load in its console.
    """
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
    if ticket is None:

        async def render_gone() -> str:
            return render("tickets/_gone.html")

        return await fragment("ticket-gone", render_gone, dynamic=True)
    return render("tickets/detail.html", block="main", **_ticket_context(ticket, None))


# -- fragments ------------------------------------------------------------


async def legend() -> Markup:
    async def render_legend() -> str:
        return render("tickets/_legend.html")

    return Markup(await fragment("status-legend", render_legend, tags=[tags.STATUSES]))


def ticket_row(ticket: Ticket) -> str:
    return render("tickets/_row.html", ticket=ticket)


def form_fragment(form: TicketForm, *, ticket: Ticket | None) -> str:
    return render("tickets/_form.html", form=form, ticket=ticket)


# -- pages ----------------------------------------------------------------


async def home_page(request: Request) -> str:
    return page(request, "home.html", counts=await counts(request))


async def tickets_page(request: Request, form: TicketForm | None = None) -> str:
    return page(
        request,
        "tickets/index.html",
        counts=await counts(request),
        ticket_list=await ticket_list(request),
        legend=await legend(),
        form=form or TicketForm(),
        ticket=None,
    )


async def ticket_page(request: Request, ticket_id: str, form: TicketForm | None = None) -> str:
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise HTTPException(404, NOT_FOUND)
    return page(request, "tickets/detail.html", **_ticket_context(ticket, form))


def _ticket_context(ticket: Ticket, form: TicketForm | None) -> dict[str, Any]:
    if form is None:
        form = TicketForm(
            data={"title": ticket.title, "content": ticket.content, "status": ticket.status.value}
        )
    return {"ticket": ticket, "form": form}
