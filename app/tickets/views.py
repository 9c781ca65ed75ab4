"""Reads and renders shared by the GET routes and the actions' error answers.

Each page is one template whose ``main`` block is its fragment, so the full
page and the htmx answer are the same markup.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request

from app.cache import fragment
from app.cache.http import is_fragment_request
from app.db import Database
from app.models import Ticket
from app.templating import render
from app.tickets import queries, tags
from app.tickets.forms import TicketForm


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def page(request: Request, template: str, **context: Any) -> str:
    block = "main" if is_fragment_request(request) else None
    return render(template, block=block, **context)


def ticket_row(ticket: Ticket) -> str:
    return render("tickets/_row.html", ticket=ticket)


def ticket_element_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


async def counts_fragment(request: Request) -> Markup:
    async def render_counts() -> str:
        async with database(request).session() as session:
            counts = await queries.count_by_status(session)
        return render(
            "tickets/_counts.html",
            counts=counts,
            total=sum(counts.values()),
            live_tags=tags.TICKETS,
        )

    return Markup(await fragment("ticket-counts", render_counts))


async def legend_fragment() -> Markup:
    async def render_legend() -> str:
        return render("tickets/_legend.html")

    return Markup(await fragment("status-legend", render_legend, tags=[tags.STATUSES]))


async def home_page(request: Request) -> str:
    return page(request, "home.html", counts=await counts_fragment(request))


async def tickets_page(request: Request, form: TicketForm | None = None) -> str:
    counts = await counts_fragment(request)
    legend = await legend_fragment()
    async with database(request).session() as session:
        tickets = await queries.list_tickets(session)
    return page(
        request,
        "tickets/index.html",
        tickets=tickets,
        counts=counts,
        legend=legend,
        form=form or TicketForm(),
        ticket=None,
        live_tags=tags.TICKETS,
    )


async def list_fragment(request: Request) -> str:
    """``#ticket-list`` alone, as the list page includes it."""
    async with database(request).session() as session:
        tickets = await queries.list_tickets(session)
    return render("tickets/_list.html", tickets=tickets, live_tags=tags.TICKETS)


def _ticket_context(ticket: Ticket, form: TicketForm | None) -> dict[str, Any]:
    if form is None:
        form = TicketForm(
            data={"title": ticket.title, "content": ticket.content, "status": ticket.status.value}
        )
    return {"ticket": ticket, "form": form, "live_tags": tags.ticket(ticket.id)}


async def ticket_page(request: Request, ticket: Ticket, form: TicketForm | None = None) -> str:
    return page(request, "tickets/detail.html", **_ticket_context(ticket, form))


async def ticket_view(ticket: Ticket | None) -> str:
    """The ticket page's main fragment; or, once it is deleted, a notice saying so.

    The notice is a 200 rendered on every request (never stored: any id
    would get one): a tab that had the ticket open re-fetches this when the
    ticket's tag moves, and a 404 there would be a failed load in its console.
    """
    if ticket is None:

        async def render_gone() -> str:
            return render("tickets/_gone.html")

        return await fragment("ticket-gone", render_gone, dynamic=True)
    context = _ticket_context(ticket, None)
    return render("tickets/detail.html", block="main", **context)


def form_fragment(form: TicketForm, *, ticket: Ticket | None) -> str:
    return render("tickets/_form.html", form=form, ticket=ticket)
