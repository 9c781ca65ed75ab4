"""A ticket's comments: the live list, the section around it, the edit page.

The list (``comment_list``) is a live fragment of its own, cached under the
ticket's id: its render reads that ticket's comments and their authors'
rows, and nothing else, so a comment (or a rename of one who commented)
re-renders it and the pages that hold it, and no other ticket's. Its root
carries ``{{ live(comments_source_path(id)) }}``: every open tab of the
ticket re-fetches it from ``/fragments/tickets/<id>/comments``.

The section (``comments_section``) is the list with its heading and the new
comment's form, which may come back with a message (a 422): it is rendered
into the ticket's page, never cached alone. Each comment's Edit and Delete
are a hole (app/holes.py): for its author and admins only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app import ids, paths
from app.cache import fragment
from app.db import database
from app.htmx import wants_partial
from app.models import Comment, Ticket
from app.templating import render, render_page
from app.tickets import earlier, queries
from app.tickets.comment_forms import CommentForm

NOT_FOUND = "No ticket has this id; it may have been deleted."
NO_COMMENT = "This comment is not there any more; it may have been deleted."
# The latest comments a ticket's page shows: each comment read, and each of their
# authors, is a tag of the list and of the page that holds it (at most 128 an
# entry), and the page's other parts need theirs.
SHOWN = 40
ANCHOR = "since"  # the field an action reads the tab's latest part's start from


async def comment_list(
    request: Request, ticket_id: str, stretch: earlier.Stretch | None = None
) -> Markup:
    """``#comment-list`` (the latest part) or a page of earlier comments (``stretch``
    with ``before``): oldest first, each with its author's name."""
    stretch = stretch or earlier.Stretch(earlier.COMMENTS, ticket_id)

    async def render_comments() -> str:
        async with database(request).session() as session:
            found = await earlier.read(session, stretch, SHOWN)
            people = await queries.people(session, [c.author_id for c in found.items])
            total = len(found.items)
            if found.more and not stretch.earlier:
                total = await queries.count_comments(session, ticket_id)
        before = replace(stretch, before=found.oldest, since=None) if found.more else None
        anchored = found.anchored(stretch)
        return render(
            "tickets/_comment_list.html",
            ticket_id=ticket_id,
            element_id=stretch.element_id(ids.COMMENT_LIST),
            earlier=stretch.earlier,
            comments=[(c, people.get(c.author_id or "")) for c in found.items],
            total=total,
            source=paths.comments_source_path(ticket_id, anchored.canonical()),
            source_since=anchored.cursor(anchored.since) if anchored.since else "",
            earlier_query=before.canonical() if before else None,
        )

    key = stretch.canonical()
    return Markup(await fragment("ticket-comments", render_comments, ticket_id, key))


async def comments_source(
    request: Request, ticket_id: str, stretch: earlier.Stretch | None = None
) -> str:
    """The list alone (its live source), or a page of earlier comments: a 404
    for an id no ticket has or had.

    A deleted ticket's comments are still there (an undo brings them back), so
    its list still answers. Whether the ticket exists is read here, outside
    the list's fragment, which depends on the comments alone.
    """
    async with database(request).session() as session:
        known = await queries.get_ticket(session, ticket_id) is not None or (
            await queries.get_deleted_ticket(session, ticket_id) is not None
        )
    if not known:
        raise HTTPException(404, NOT_FOUND)
    return str(await comment_list(request, ticket_id, stretch))


async def one_comment(request: Request, comment: Comment) -> str:
    """One comment alone (an undo's answer, put back in place): rendered, never stored."""
    async with database(request).session() as session:
        people = await queries.people(session, [comment.author_id])
    author = people.get(comment.author_id or "")
    return render(
        "tickets/_comment.html", ticket_id=comment.ticket_id, comment=comment, author=author
    )


async def comments_section(
    request: Request,
    ticket: Ticket,
    form: CommentForm | None = None,
    *,
    focus: bool = False,
    since: earlier.Key | None = None,
) -> Markup:
    """``#comments``: the heading, the list and the form to add one; ``focus``: the
    form's field takes focus once swapped in (an action's answer, never a page);
    ``since``: where the tab's latest part starts (``anchor``), if it says."""
    stretch = earlier.Stretch(earlier.COMMENTS, ticket.id, since=since)
    return Markup(
        render(
            "tickets/_comments.html",
            ticket=ticket,
            comment_list=await comment_list(request, ticket.id, stretch),
            comment_form=form or CommentForm(),
            focus=focus,
        )
    )


async def edit_comment_page(
    request: Request, ticket_id: str, comment: Comment, form: CommentForm | None = None
) -> str:
    """A comment's edit form on a page of its own (never cached: it is one person's)."""
    form = form or CommentForm(data={"body": comment.body})
    context: dict[str, Any] = {"ticket_id": ticket_id, "comment": comment, "form": form}
    return render_page("tickets/comment_edit.html", partial=wants_partial(request), **context)


async def existing_comment(request: Request, ticket_id: str, comment_id: str) -> Comment:
    """The comment ``comment_id`` of the ticket ``ticket_id``, which exists; else a 404."""
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
        comment = await queries.get_comment(session, comment_id)
    if ticket is None:
        raise HTTPException(404, NOT_FOUND)
    if comment is None or comment.ticket_id != ticket_id:
        raise HTTPException(404, NO_COMMENT)
    return comment


def anchor(ticket_id: str, posted: Mapping[str, Any]) -> earlier.Key | None:
    """Where the latest part on the acting tab starts (the ``since`` its form
    sends, ``ANCHOR``), so that an action's answer shows what the tab's live
    refresh would: the earlier comments loaded above it still meet it. Only a
    hint for the answer: an odd one is ignored, the write is done."""
    value = posted.get(ANCHOR)
    if not isinstance(value, str) or not value:
        return None
    try:
        return earlier.Key.decode(value, earlier.COMMENTS, ticket_id)
    except HTTPException:
        return None
