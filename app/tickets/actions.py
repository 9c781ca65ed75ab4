"""POST actions. Each reads top to bottom: who, validate, write, answer.

Who may do what is app/accounts/permissions.py: a refusal comes before any
write, or inside the transaction, which it rolls back.

Each answer an htmx request gets carries a notice for the person who acted
(app/notices.py): what happened, and for a delete the URL that undoes it.

What a write moved is derived from the rows it changed (app/deps), queued in
the transaction and applied right after COMMIT; a rollback (any exception, a
404 included) drops it. No action names a tag.
Every open page hears of them through the event stream (``/events``), which
re-fetches the live fragments they touch: the one way pages refresh, for the
tab that acted as for every other.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app import ids, paths
from app.accounts.permissions import require_author_or_admin, require_editor, signed_in
from app.db import database
from app.htmx import HtmxDetails, hx_changed, hx_no_history, hx_retarget
from app.models import Ticket
from app.notices import notify, quoted
from app.tickets import assignees, conflicts, history, numbers, undo, versions, views
from app.tickets.acting import existing, navigate, writing
from app.tickets.filters import ListQuery
from app.tickets.forms import TicketForm, validate


async def create_ticket(request: Request) -> Response:
    author = await signed_in(request)
    form = validate(await request.form(), partial=False)
    if not form.is_valid:
        return await _invalid(request, form, ticket=None)
    async with database(request).transaction() as session:
        (number,) = await numbers.take(session)
        ticket = Ticket(**form.values, author_id=author.id, number=number)
        session.add(ticket)
        history.record(session, ticket, history.CREATED, author.id)
    created = f"Ticket {quoted(ticket.title)} created."
    if HtmxDetails(request).target == ids.FIRST_PAGE:
        # Prepended to the list on screen, if it belongs there (the stream
        # refreshes that page anyway; this spares the author the wait).
        shown = _list_on_screen(request)
        row = await views.one_row(request, ticket) if shown.matches(ticket) else ""
        return notify(hx_changed(HTMLResponse(row)), created)
    return navigate(request, paths.tickets_path(), created)


async def update_ticket(request: Request) -> Response:
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    posted = await request.form()
    form = validate(posted, partial=True)
    form.data.update(versions.carried(posted))  # shown again with its messages, if any
    merged = None
    async with writing(request) as session:
        ticket = await existing(session, ticket_id)
        require_editor(viewer, ticket.author_id, ticket.assignee_id)
        if form.is_valid:
            values = dict(form.values)
            if "assignee" in values:
                values["assignee"] = await assignees.resolve(session, values["assignee"], viewer.id)
            # From the edit form: only what this person changed since its version.
            if versions.FIELD in posted:
                merged = await _merged(session, ticket, values, posted[versions.FIELD], form)
                values = merged.values if merged else {}
            if not merged or not merged.clashes:
                history.edit(session, ticket, values, viewer.id)
    if not form.is_valid:
        return await _invalid(request, form, ticket=ticket)
    if merged and merged.clashes:
        return await conflicts.answer(request, ticket, merged)
    if HtmxDetails(request).target == ids.ticket(ticket_id):
        row = hx_changed(HTMLResponse(await views.one_row(request, ticket)))
        return notify(row, f"{quoted(ticket.title)} is now {ticket.status.label}.")
    return navigate(request, paths.ticket_path(ticket_id), "Changes saved.")


async def _merged(
    session: AsyncSession,
    ticket: Ticket,
    values: dict[str, object],
    posted: object,
    form: TicketForm,
) -> versions.Merge | None:
    """The save of an edit form made at the version ``posted``; None (and
    the form's message) when that is no version of this ticket."""
    try:
        version = versions.parse(posted, ticket.version)
    except versions.VersionError as error:
        form.errors["form"] = str(error)
        return None
    return await versions.merge(session, ticket, values, version)


async def delete_ticket(request: Request) -> Response:
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    async with writing(request) as session:
        ticket = await existing(session, ticket_id)
        require_author_or_admin(viewer, ticket.author_id)
        # By its id, read back, before anything else is written: of two deletes
        # at once, the second waits for the first's row lock, then finds nothing.
        deleted = await session.exec(
            delete(Ticket).where(col(Ticket.id) == ticket_id).returning(Ticket)
        )
        if deleted.first() is None:
            raise HTTPException(404, views.NOT_FOUND)
        await undo.keep(session, ticket)
        history.record(session, ticket, history.DELETED, viewer.id)
    said = f"Ticket {quoted(ticket.title)} deleted."
    restore, row = paths.ticket_restore_path(ticket_id), ids.ticket(ticket_id)
    if HtmxDetails(request).target == row:
        # An empty swap removes the row.
        return notify(hx_changed(HTMLResponse("")), said, undo=restore, subject=row)
    return navigate(request, paths.tickets_path(), said, undo=restore, subject=row)


async def restore_ticket(request: Request) -> Response:
    """Undo a delete: the ticket comes back as it was, for everyone."""
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    async with database(request).transaction() as session:
        ticket = await undo.restore(session, ticket_id)
        if ticket is None:
            raise HTTPException(404, "This ticket can no longer be restored.")
        require_author_or_admin(viewer, ticket.author_id)  # a refusal rolls the claim back
        history.record(session, ticket, history.RESTORED, viewer.id)
    restored = f"Ticket {quoted(ticket.title)} restored."
    if HtmxDetails(request).target == ids.ticket(ticket_id):
        # The row, which the page puts back where it was.
        return notify(hx_changed(HTMLResponse(await views.one_row(request, ticket))), restored)
    return navigate(request, paths.ticket_path(ticket_id), restored)


async def edit_ticket_again(request: Request) -> Response:
    """``GET .../update``: what reloading a form answered with its errors asks for."""
    return RedirectResponse(paths.ticket_path(request.path_params["ticket_id"]), status_code=303)


def _list_on_screen(request: Request) -> ListQuery:
    """The list the page that posted shows (htmx sends its address)."""
    current = HtmxDetails(request).current_url
    if current is None:
        return ListQuery()
    try:
        return ListQuery.parse(dict(parse_qsl(urlsplit(current).query)))
    except HTTPException:
        return ListQuery()


async def _invalid(request: Request, form: TicketForm, *, ticket: Ticket | None) -> Response:
    """422 with the form and its messages: the form alone for htmx, else the page."""
    if HtmxDetails(request):
        body = views.form_fragment(form, ticket=ticket)
        return hx_no_history(hx_retarget(HTMLResponse(body, 422), f"#{ids.FORM}"))
    if ticket is None:
        return HTMLResponse(await views.tickets_page(request, ListQuery(), form), 422)
    return HTMLResponse(await views.ticket_page(request, ticket.id, form), 422)
