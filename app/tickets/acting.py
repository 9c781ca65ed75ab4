"""What every action that writes shares: its transaction and its answer.

- ``writing``: a transaction over rows read first, which another write may
  delete between our read and our write (SQLite has no row lock): ours then
  changes nothing, and the answer is a 404 that says so.
- ``existing``: the ticket an action is about, or that 404.
- ``navigate``: the answer that moves the browser on. htmx loads the page
  itself (200 + HX-Redirect) and shows the notice (with Undo, when given); a
  plain form post gets a 303, and the page it lands on says enough.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.db import database
from app.htmx import HtmxDetails, hx_redirect
from app.models import Ticket
from app.notices import notify
from app.tickets.views import NOT_FOUND


@asynccontextmanager
async def writing(request: Request, gone: str = NOT_FOUND) -> AsyncIterator[AsyncSession]:
    """A transaction whose rows another write may delete meanwhile: a 404 saying ``gone``."""
    try:
        async with database(request).transaction() as session:
            yield session
    except StaleDataError:
        raise HTTPException(404, gone) from None


async def existing(session: AsyncSession, ticket_id: str) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise HTTPException(404, NOT_FOUND)
    return ticket


def navigate(
    request: Request, url: str, notice: str, *, undo: str | None = None, subject: str | None = None
) -> Response:
    """Move the browser on to ``url`` with ``notice`` (see the module's docstring)."""
    if HtmxDetails(request):
        answer = hx_redirect(Response(status_code=200), url)
        return notify(answer, notice, undo=undo, subject=subject)
    return RedirectResponse(url, status_code=303)
