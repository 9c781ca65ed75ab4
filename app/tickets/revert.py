"""Revert a title or description edit from the timeline: the field goes back to
the value that edit replaced, as a new change (recorded, like any edit).

Who may: whoever made that change, or an admin (403 for anyone else); an
edit of another field, or of another ticket, is none to revert (404 for an
unknown one, 400 for a kind that cannot be); a field changed again since
cannot be reverted over that change (409: revert the later one, or edit).
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app import paths
from app.accounts.permissions import signed_in
from app.accounts.viewer import Viewer
from app.models import TicketChange
from app.notices import quoted
from app.tickets import history
from app.tickets.acting import existing, navigate, writing
from app.tickets.forms import LABELS
from app.tickets.timeline import REVERTIBLE

NO_SUCH_CHANGE = "This ticket has no such change."
NOT_REVERTIBLE = "Only an edit of the title or the description can be reverted."
NOT_YOURS = "Only whoever made this change, or an admin, can revert it."


def moved_since(label: str) -> str:
    return (
        f"The {label} has changed again since this edit, so it was not reverted: "
        f"revert the later change, or edit the {label}."
    )


async def revert_change(request: Request) -> Response:
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    change_id: int = request.path_params["change_id"]
    async with writing(request) as session:
        ticket = await existing(session, ticket_id)
        change = await session.get(TicketChange, change_id)
        if change is None or change.ticket_id != ticket_id:
            raise HTTPException(404, NO_SUCH_CHANGE)
        if change.kind not in REVERTIBLE:
            raise HTTPException(400, NOT_REVERTIBLE)
        _require_maker_or_admin(viewer, change)
        label = LABELS[change.kind]
        # Locked first: an edit racing this revert waits, and is then read against it.
        await session.refresh(ticket, with_for_update=True)
        if await _changed_since(session, change):
            raise HTTPException(409, moved_since(label))
        history.edit(session, ticket, {change.kind: change.old or ""}, viewer.id)
    said = f"The {label} of {quoted(ticket.title)} is back as it was."
    return navigate(request, paths.ticket_path(ticket_id), said)


def _require_maker_or_admin(viewer: Viewer, change: TicketChange) -> None:
    if not (viewer.is_admin or (change.actor_id is not None and change.actor_id == viewer.id)):
        raise HTTPException(403, NOT_YOURS)


async def _changed_since(session: AsyncSession, change: TicketChange) -> bool:
    later = select(TicketChange.id).where(
        col(TicketChange.ticket_id) == change.ticket_id,
        col(TicketChange.kind) == change.kind,
        col(TicketChange.id) > (change.id or 0),
    )
    return (await session.exec(later.limit(1))).first() is not None
