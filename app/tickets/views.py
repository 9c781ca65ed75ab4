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
from app.models import Ticket, TicketStatus
from app.templating import render
from app.tickets import queries, tags
from app.tickets.forms import TicketForm


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def page(request: Request, template: str, **context: Any) -> str:
    block = "main" if is_fragment_request(request) else None
    return render(template, block=block, statuses=list(TicketStatus), **context)


def ticket_row(ticket: Ticket) -> str:
    return render("tickets/_row.html", ticket=ticket, statuses=list(TicketStatus))


def ticket_element_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


async def counts_fragment(request: Request) -> Markup:
    async def render_counts() -> str:
        async with database(request).session() as session:
            counts = await queries.count_by_status(session)
        return render("tickets/_counts.html", counts=counts, total=sum(counts.values()))

    return Markup(await fragment("ticket-counts", render_counts))


async def legend_fragment() -> Markup:
    async def render_legend() -> str:
        return render("tickets/_legend.html", statuses=list(TicketStatus))

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
    )


async def ticket_page(request: Request, ticket: Ticket, form: TicketForm | None = None) -> str:
    if form is None:
        form = TicketForm(
            data={"title": ticket.title, "content": ticket.content, "status": ticket.status.value}
        )
    return page(request, "tickets/detail.html", ticket=ticket, form=form)


def form_fragment(form: TicketForm, *, ticket: Ticket | None) -> str:
    return render("tickets/_form.html", form=form, ticket=ticket, statuses=list(TicketStatus))
