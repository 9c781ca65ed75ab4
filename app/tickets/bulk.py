"""Bulk actions: one status, one assignee or a delete for a selection of the
list's rows, and the undo of a bulk delete.

Each is one transaction: every ticket is read (and, on PostgreSQL, locked)
first; one that is missing, or that the person may not change, refuses the
whole selection (404, 403, naming the rows), and so does an unknown
assignee (422): nothing is written. Each ticket's change is recorded in its
history (app/tickets/history.py), as a single edit's or delete's would be.
What the writes move is derived from their rows and applied after COMMIT
in one go (app/deps): one bump of every tag they moved, however many rows.

An htmx answer (the request's ``HX-Target`` is the bulk form) carries the
changed rows, which static/bulk.js puts in place, and a notice; after a
delete, the notice offers Undo (``POST /tickets/restore?ids=...``), which
puts every row back. A plain form post gets ``303`` back to the list; a
delete asks first on a page of its own, as a single delete does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app import ids, paths
from app.accounts.permissions import signed_in
from app.accounts.viewer import Viewer
from app.db import database
from app.forms import CONTROL
from app.htmx import HtmxDetails, hx_changed, wants_partial
from app.models import Ticket, User
from app.notices import notify, quoted
from app.templating import render_page
from app.tickets import assignees, history, undo, views
from app.tickets.acting import navigate, writing
from app.tickets.selection import ASSIGN, DELETE, STATUS, Selection, parse, ticket_ids, well_formed

NAMED = 3  # rows a message names; the others are counted ("and 2 more")
TITLE_SHOWN = 32  # characters of a title a refusal quotes: the message stays short
ID_SHOWN = 40  # of an id (a ticket's is 36)
EDITORS = "only a ticket's author, its assignee or an admin can change it"
AUTHORS = "only a ticket's author or an admin can delete it"
MEANWHILE = "A selected ticket was deleted meanwhile: nothing was changed."
GONE = "can no longer be restored (restored already, or deleted too long ago)"


async def bulk_change(request: Request) -> Response:
    """``POST /tickets/bulk``: one action on every selected ticket, or on none."""
    viewer = await signed_in(request)
    posted = await request.form()
    chosen = parse(posted)
    back = _back(posted.get("next"))
    inline = HtmxDetails(request).target == ids.BULK
    if chosen.action == DELETE and not (inline or chosen.confirmed):
        return await _confirm_delete(request, viewer, chosen, back)
    async with writing(request, MEANWHILE) as session:
        tickets = await _selected(session, chosen.ids)
        if chosen.action == DELETE:
            _require(tickets, lambda t: viewer.may_delete(t.author_id), "delete", AUTHORS)
            await _delete(session, tickets, viewer.id)
        else:
            may_edit = lambda t: viewer.may_edit(t.author_id, t.assignee_id)  # noqa: E731
            _require(tickets, may_edit, "change", EDITORS)
            values, said = await _values(session, chosen, viewer)
            for ticket in tickets:
                history.edit(session, ticket, values, viewer.id)
    if chosen.action == DELETE:
        said = f"{_counted(tickets)} deleted."
        restore = paths.tickets_restore_path([ticket.id for ticket in tickets])
        if inline:
            return notify(hx_changed(HTMLResponse("")), said, undo=restore, subject=ids.BULK)
        return navigate(request, back, said, undo=restore, subject=ids.BULK)
    said = f"{_counted(tickets)} {said}"
    if inline:
        return notify(hx_changed(HTMLResponse(await _rows(request, tickets))), said)
    return navigate(request, back, said, subject=ids.BULK)


async def bulk_restore(request: Request) -> Response:
    """``POST /tickets/restore?ids=...``: undo a bulk delete, every ticket or none."""
    viewer = await signed_in(request)
    wanted = ticket_ids(request.query_params.getlist("ids"))
    async with database(request).transaction() as session:
        kept = [
            await undo.restore(session, ticket_id) if well_formed(ticket_id) else None
            for ticket_id in wanted
        ]
        gone = [ticket_id for ticket_id, ticket in zip(wanted, kept, strict=True) if not ticket]
        if gone:  # a refusal rolls back the ones claimed
            raise HTTPException(404, f"{_ids_named(gone)} {GONE}: none was restored.")
        tickets = [ticket for ticket in kept if ticket is not None]
        _require(tickets, lambda t: viewer.may_delete(t.author_id), "restore", AUTHORS)
        for ticket in tickets:
            history.record(session, ticket, history.RESTORED, viewer.id)
    said = f"{_counted(tickets)} restored."
    if HtmxDetails(request).target == ids.BULK:
        # The rows, which the page puts back where they were (static/ui.js).
        return notify(hx_changed(HTMLResponse(await _rows(request, tickets))), said)
    return navigate(request, paths.tickets_path(), said, subject=ids.BULK)


# -- the transaction's parts ---------------------------------------------------------


async def _selected(session: AsyncSession, wanted: Sequence[str]) -> list[Ticket]:
    """Every ticket of ``wanted``, in that order, locked in id order (so that
    two bulk writes over the same rows never wait for each other in a circle);
    404 naming those that do not exist."""
    valid = sorted(ticket_id for ticket_id in wanted if well_formed(ticket_id))
    found: dict[str, Ticket] = {}
    if valid:
        chosen = select(Ticket).where(col(Ticket.id).in_(valid)).order_by(col(Ticket.id))
        rows = await session.exec(chosen.with_for_update())
        found = {ticket.id: ticket for ticket in rows}
    missing = [ticket_id for ticket_id in wanted if ticket_id not in found]
    if missing:
        named = _ids_named(missing)
        raise HTTPException(
            404, f"{named}: no such ticket (deleted, perhaps). Nothing was changed."
        )
    return [found[ticket_id] for ticket_id in wanted]


def _require(
    tickets: Sequence[Ticket], may: Callable[[Ticket], bool], verb: str, rule: str
) -> None:
    """403 naming the tickets the person may not ``verb``, if there is one."""
    refused = [ticket for ticket in tickets if not may(ticket)]
    if refused:
        named = _named(refused)
        raise HTTPException(403, f"You may not {verb} {named}: {rule}. Nothing was changed.")


async def _values(
    session: AsyncSession, chosen: Selection, viewer: Viewer
) -> tuple[dict[str, object], str]:
    """The field to set, and what the notice says of it."""
    if chosen.action == STATUS:
        assert chosen.status is not None
        return {"status": chosen.status}, f"now {chosen.status.label}."
    assert chosen.action == ASSIGN and chosen.assignee is not None
    assignee = await assignees.resolve(session, chosen.assignee, viewer.id)
    if assignee is None:
        return {"assignee": None}, "assigned to nobody."
    if assignee == viewer.id:
        return {"assignee": assignee}, "assigned to you."
    person = await session.get(User, assignee)
    return {"assignee": assignee}, f"assigned to {person.name if person else 'them'}."


async def _delete(session: AsyncSession, tickets: Sequence[Ticket], actor_id: str) -> None:
    """Delete them all, each kept for an undo and recorded; 404 if one went meanwhile."""
    chosen = [ticket.id for ticket in tickets]
    # Their rows returned: what the delete moved (memberships by status, assignee)
    # is derived from them (app/deps).
    deleted = await session.exec(delete(Ticket).where(col(Ticket.id).in_(chosen)).returning(Ticket))
    if len(deleted.all()) != len(chosen):
        raise HTTPException(404, MEANWHILE)
    for ticket in tickets:
        await undo.keep(session, ticket)
        history.record(session, ticket, history.DELETED, actor_id)


# -- answers ------------------------------------------------------------------------


async def _confirm_delete(
    request: Request, viewer: Viewer, chosen: Selection, back: str
) -> Response:
    """Without JavaScript there is no Undo: the delete is asked again, on a page
    that lists what it would delete (checked now, so that a refusal comes first)."""
    async with database(request).session() as session:
        tickets = await _selected(session, chosen.ids)
    _require(tickets, lambda t: viewer.may_delete(t.author_id), "delete", AUTHORS)
    body = render_page(
        "tickets/bulk_delete.html", partial=wants_partial(request), tickets=tickets, back=back
    )
    return HTMLResponse(body)


async def _rows(request: Request, tickets: Sequence[Ticket]) -> str:
    return "\n".join(await views.rows_of(request, tickets))


def _back(posted: object) -> str:
    """The list the form was posted from (its ``next`` field), else the whole list."""
    return paths.safe_next(posted if isinstance(posted, str) else None)


def _counted(tickets: Sequence[Ticket]) -> str:
    if len(tickets) == 1:
        return f"Ticket {quoted(tickets[0].title)}"
    return f"{len(tickets)} tickets"


def _named(tickets: Sequence[Ticket]) -> str:
    """``#12 “Printer on fire”, #13 “…” and 2 more``: which rows, at a glance."""
    names = [
        f"#{ticket.number} {_short(ticket.title)}" if ticket.number else _short(ticket.title)
        for ticket in tickets[:NAMED]
    ]
    return _listed(names, len(tickets))


def _ids_named(ticket_ids: Sequence[str]) -> str:
    """Ids as posted, which may be anything: cut short, control characters dropped."""
    names = [_short(CONTROL.sub("", ticket_id), ID_SHOWN) for ticket_id in ticket_ids[:NAMED]]
    return _listed(names, len(ticket_ids))


def _short(text: str, most: int = TITLE_SHOWN) -> str:
    if len(text) > most:
        text = text[: most - 1].rstrip() + "…"
    return f"“{text}”"


def _listed(names: list[str], total: int) -> str:
    more = total - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")
