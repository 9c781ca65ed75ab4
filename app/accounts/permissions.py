"""Who may do what: reading is public; creating needs a session; a ticket can
be changed by its author, its assignee or an admin (the first account), and
deleted by its author or an admin.

A refusal changes nothing: it is raised before any write, or inside the
write's transaction, which it rolls back with its queued invalidations.
A visitor is sent to sign in (a plain form post: 303 to the login page, back
here after); an htmx request, or a person who may not, gets 403 and why.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from app import paths
from app.accounts.viewer import Viewer, viewer_of
from app.htmx import HtmxDetails

SIGN_IN_FIRST = "Sign in to make changes: your session may have ended."
AUTHOR_OR_ADMIN = "Only the ticket's author or an admin can do this."
EDITORS = "Only the ticket's author, its assignee or an admin can change it."


class SignInFirst(Exception):
    """A visitor tried to write (handled by ``sign_in_first``)."""


async def signed_in(request: Request) -> Viewer:
    """The person making this request; a visitor is refused."""
    viewer = await viewer_of(request.scope)
    if viewer is None:
        raise SignInFirst()
    return viewer


def require_author_or_admin(viewer: Viewer, author_id: str | None) -> None:
    if not viewer.may_delete(author_id):
        raise HTTPException(403, AUTHOR_OR_ADMIN)


def require_editor(viewer: Viewer, author_id: str | None, assignee_id: str | None) -> None:
    if not viewer.may_edit(author_id, assignee_id):
        raise HTTPException(403, EDITORS)


async def sign_in_first(request: Request, exc: Exception) -> Response:
    if HtmxDetails(request):
        return PlainTextResponse(SIGN_IN_FIRST, 403)
    came_from = urlsplit(request.headers.get("referer", ""))
    back = paths.safe_next(came_from.path + (f"?{came_from.query}" if came_from.query else ""))
    return RedirectResponse(f"{paths.login_path()}?{urlencode({'next': back})}", status_code=303)
