"""A ticket's comments: add one, edit or delete one's own (admins: any), undo a delete.

Each action reads top to bottom: who, validate, write, answer. The write
locks the ticket's row first (``FOR UPDATE``; SQLite's writes are one at a
time anyway), so that its ``comment_count`` moves in step with its comments
however many people comment at once, and two deletes of one comment find it
once. Adding, removing and restoring a comment is recorded in the ticket's
history (``history.discussed``), which moves its ``updated_at``: activity.

What a write moved is derived from the rows it changed (app/deps): the
comment's row and its ticket's membership, and the ticket's row (its count).
No action names a tag.

With htmx, adding answers the comments' section (the list with the new one,
from where the tab's latest part starts, and an empty form); deleting, nothing
(the comment leaves where it is listed) and a notice with Undo, whose answer
is the comment alone, put back in place; a refused body comes back in the
form, with its message, as a 422. Without JavaScript each answers a 303 to
the ticket's page, or that page with the message (422). Editing happens on
a page of its own, and comes back to the ticket.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app import ids, paths
from app.accounts.permissions import signed_in
from app.accounts.viewer import Viewer
from app.htmx import HtmxDetails, hx_changed
from app.models import Comment, Ticket, utcnow
from app.notices import notify
from app.tickets import comment_undo, comment_views, history, views
from app.tickets.acting import navigate, writing
from app.tickets.comment_forms import FIELD, CommentForm, validate

AUTHOR_OR_ADMIN = "Only the comment's author or an admin can change it."
ADDED = "Comment added."
SAVED = "Comment saved."
DELETED = "Comment deleted."
RESTORED = "Comment restored."
NOT_DELETED = "This comment is not deleted: there is nothing to undo."
NOT_RESTORABLE = "This comment can no longer be restored."


async def create_comment(request: Request) -> Response:
    author = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    posted = await request.form()
    form = validate(posted)
    async with writing(request) as session:
        ticket = await _locked(session, ticket_id)
        if form.is_valid:
            now = utcnow()  # made and last changed at once: not shown as edited
            comment = Comment(
                ticket_id=ticket_id,
                author_id=author.id,
                body=form.values[FIELD],
                created_at=now,
                updated_at=now,
            )
            session.add(comment)
            ticket.comment_count += 1
            history.discussed(session, ticket, history.COMMENT_ADDED, author.id, new=comment.id)
    if not form.is_valid:
        return await _invalid(request, ticket, form)
    if HtmxDetails(request):
        since = comment_views.anchor(ticket_id, posted)
        section = await comment_views.comments_section(request, ticket, focus=True, since=since)
        return notify(hx_changed(HTMLResponse(section)), ADDED)
    return RedirectResponse(_at(ticket_id, ids.comment(comment.id)), status_code=303)


async def edit_comment(request: Request) -> Response:
    """``GET .../edit``: the form, for the comment's author and admins."""
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    comment = await comment_views.existing_comment(
        request, ticket_id, request.path_params["comment_id"]
    )
    _require_author_or_admin(viewer, comment)
    page = await comment_views.edit_comment_page(request, ticket_id, comment)
    answer = HTMLResponse(page)
    answer.headers["Cache-Control"] = "private, no-store"  # one person's form
    return answer


async def update_comment(request: Request) -> Response:
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    form = validate(await request.form())
    async with writing(request) as session:
        await _locked(session, ticket_id)
        comment = await _comment(session, ticket_id, request.path_params["comment_id"])
        _require_author_or_admin(viewer, comment)
        if form.is_valid and comment.body != form.values[FIELD]:
            comment.body = form.values[FIELD]
            comment.updated_at = utcnow()
            session.add(comment)
    if not form.is_valid:
        page = await comment_views.edit_comment_page(request, ticket_id, comment, form)
        return HTMLResponse(page, 422)
    return navigate(request, _at(ticket_id, ids.comment(comment.id)), SAVED)


async def delete_comment(request: Request) -> Response:
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    async with writing(request) as session:
        ticket = await _locked(session, ticket_id)
        comment = await _comment(session, ticket_id, request.path_params["comment_id"])
        _require_author_or_admin(viewer, comment)
        await comment_undo.keep(session, comment)
        await session.delete(comment)
        ticket.comment_count = max(ticket.comment_count - 1, 0)
        history.discussed(session, ticket, history.COMMENT_REMOVED, viewer.id, old=comment.id)
    if HtmxDetails(request):
        # An empty swap takes the comment out, wherever it is listed (the latest
        # part or a page of earlier ones); Undo puts it back (static/ui.js).
        restore = paths.comment_restore_path(ticket_id, comment.id)
        gone = hx_changed(HTMLResponse(""))
        return notify(gone, DELETED, undo=restore, subject=ids.comment(comment.id))
    return RedirectResponse(_at(ticket_id, ids.COMMENTS), status_code=303)


async def restore_comment(request: Request) -> Response:
    """Undo a comment's delete: it comes back as it was, for everyone, with its
    count on the ticket's row and a "comment restored" change in its history."""
    viewer = await signed_in(request)
    ticket_id = request.path_params["ticket_id"]
    comment_id = request.path_params["comment_id"]
    async with writing(request) as session:
        ticket = await _locked(session, ticket_id)
        comment = await comment_undo.restore(session, comment_id)
        if comment is None or comment.ticket_id != ticket_id:
            there = await session.get(Comment, comment_id)
            if there is not None and there.ticket_id == ticket_id:
                raise HTTPException(409, NOT_DELETED)
            raise HTTPException(404, NOT_RESTORABLE)
        _require_author_or_admin(viewer, comment)  # a refusal rolls the claim back
        ticket.comment_count += 1
        history.discussed(session, ticket, history.COMMENT_RESTORED, viewer.id, new=comment.id)
    if HtmxDetails(request).target == ids.comment(comment_id):
        # The comment alone, which the page puts back where it was.
        alone = await comment_views.one_comment(request, comment)
        return notify(hx_changed(HTMLResponse(alone)), RESTORED)
    return navigate(request, _at(ticket_id, ids.comment(comment_id)), RESTORED)


async def _locked(session: AsyncSession, ticket_id: str) -> Ticket:
    """The ticket, its row locked until COMMIT: its comments change one write at a time."""
    ticket = await session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        raise HTTPException(404, views.NOT_FOUND)
    return ticket


async def _comment(session: AsyncSession, ticket_id: str, comment_id: str) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.ticket_id != ticket_id:
        raise HTTPException(404, comment_views.NO_COMMENT)
    return comment


def _require_author_or_admin(viewer: Viewer, comment: Comment) -> None:
    # The rule a comment's hole shows its Edit and Delete by (app/holes.py).
    if not viewer.may_delete(comment.author_id):
        raise HTTPException(403, AUTHOR_OR_ADMIN)


async def _invalid(request: Request, ticket: Ticket, form: CommentForm) -> Response:
    """422 with the form and its message: the section for htmx, else the ticket's page."""
    if HtmxDetails(request):
        section = await comment_views.comments_section(request, ticket, form, focus=True)
        return HTMLResponse(section, 422)
    page = await views.ticket_page(request, ticket.id, comment_form=form)
    return HTMLResponse(page, 422)


def _at(ticket_id: str, element_id: str) -> str:
    return f"{paths.ticket_path(ticket_id)}#{element_id}"
