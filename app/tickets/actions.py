"""POST actions. Each reads top to bottom: validate, write, invalidate, answer.

Invalidations are made inside the transaction: they are queued and applied
right after COMMIT, and a rollback (any exception, a 404 included) drops them.
Every open page hears of them through the event stream (``/events``), which
re-fetches the live fragments they touch: the one way pages refresh, for the
tab that acted as for every other.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app import paths
from app.cache import revalidate_tag
from app.db import database
from app.htmx import HtmxDetails, hx_redirect, hx_retarget
from app.models import Ticket, utcnow
from app.tickets import ids, tags, views
from app.tickets.filters import ListQuery
from app.tickets.forms import TicketForm, validate


async def create_ticket(request: Request) -> Response:
    form = validate(await request.form(), partial=False)
    if not form.is_valid:
        return await _invalid(request, form, ticket=None)
    async with database(request).transaction() as session:
        ticket = Ticket(**form.values)
        session.add(ticket)
        await _revalidate(tags.came_or_went(ticket.id, ticket.status))
    if HtmxDetails(request).target == ids.FIRST_PAGE:
        # Prepended to the list on screen, if it belongs there (the stream
        # refreshes that page anyway; this spares the author the wait).
        shown = _list_on_screen(request)
        return HTMLResponse(await views.one_row(ticket) if shown.matches(ticket) else "")
    return _navigate(request, paths.tickets_path())


async def update_ticket(request: Request) -> Response:
    ticket_id = request.path_params["ticket_id"]
    form = validate(await request.form(), partial=True)
    async with database(request).transaction() as session:
        ticket = await _existing(session, ticket_id)
        if form.is_valid:
            before = ticket.status, ticket.title, ticket.content
            for name, value in form.values.items():
                setattr(ticket, name, value)
            ticket.updated_at = utcnow()
            session.add(ticket)
            written = tags.Written(
                ticket_id,
                frozenset([before[0], ticket.status]),
                text_changed=before[1:] != (ticket.title, ticket.content),
            )
            await _revalidate(written)
    if not form.is_valid:
        return await _invalid(request, form, ticket=ticket)
    if HtmxDetails(request).target == ids.ticket(ticket_id):
        return HTMLResponse(await views.one_row(ticket))
    return _navigate(request, paths.ticket_path(ticket_id))


async def delete_ticket(request: Request) -> Response:
    ticket_id = request.path_params["ticket_id"]
    async with database(request).transaction() as session:
        ticket = await _existing(session, ticket_id)
        await session.delete(ticket)
        await _revalidate(tags.came_or_went(ticket_id, ticket.status))
    if HtmxDetails(request).target == ids.ticket(ticket_id):
        return HTMLResponse("")  # an empty swap removes the row
    return _navigate(request, paths.tickets_path())


async def _revalidate(written: tags.Written) -> None:
    for tag in tags.moved_by(written):
        await revalidate_tag(tag)


def _list_on_screen(request: Request) -> ListQuery:
    """The list the page that posted shows (htmx sends its address)."""
    current = HtmxDetails(request).current_url
    if current is None:
        return ListQuery()
    try:
        return ListQuery.parse(dict(parse_qsl(urlsplit(current).query)))
    except HTTPException:
        return ListQuery()


async def _existing(session: AsyncSession, ticket_id: str) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise HTTPException(404, views.NOT_FOUND)
    return ticket


async def _invalid(request: Request, form: TicketForm, *, ticket: Ticket | None) -> Response:
    """422 with the form and its messages: the form alone for htmx, else the page."""
    if HtmxDetails(request):
        body = views.form_fragment(form, ticket=ticket)
        return hx_retarget(HTMLResponse(body, 422), f"#{ids.FORM}")
    if ticket is None:
        return HTMLResponse(await views.tickets_page(request, ListQuery(), form), 422)
    return HTMLResponse(await views.ticket_page(request, ticket.id, form), 422)


def _navigate(request: Request, url: str) -> Response:
    """htmx loads ``url`` itself (200 + HX-Redirect); a plain form post gets 303."""
    if HtmxDetails(request):
        return hx_redirect(Response(status_code=200), url)
    return RedirectResponse(url, status_code=303)
