"""Each page and fragment of the tickets feature: read its data, render it.

A GET reads its data here and only here; routes and actions call these.
Each page is one template whose ``main`` block is its partial (what htmx
swaps in), so the full page and the htmx answer are the same markup.

A live fragment (one that pages re-fetch when its data changes) is a
``fragment()`` whose render reads its data, then renders a template whose
root element carries ``{{ live(its_source_path()) }}``; a route under
``/fragments/`` serves it alone. ``counts``, ``list_window`` and
``ticket_row`` are three: a list's rows are fragments of their own, read in
one round trip (``fragments``), so a write re-renders one row and the page
around it, never the whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app import ids, paths
from app.cache import fragment, fragments
from app.db import database
from app.htmx import wants_partial
from app.models import Ticket, TicketStatus, User
from app.templating import render, render_page
from app.tickets import comment_views, earlier, queries, timeline
from app.tickets.comment_forms import CommentForm
from app.tickets.filters import NOBODY, UNKNOWN_ASSIGNEE, Cursor, ListQuery
from app.tickets.forms import TicketForm
from app.tickets.sorts import Sort

NOT_FOUND = "No ticket has this id; it may have been deleted."


def page(request: Request, template: str, **context: Any) -> str:
    return render_page(template, partial=wants_partial(request), **context)


# -- live fragments -------------------------------------------------------


async def counts(request: Request, active: TicketStatus | None = None) -> Markup:
    """The count of each status: the list's filter links, the active one marked."""

    async def render_counts() -> str:
        async with database(request).session() as session:
            by_status = await queries.count_by_status(session)
        return render(
            "tickets/_counts.html",
            counts=by_status,
            total=sum(by_status.values()),
            active=active,
            source=paths.counts_source_path(active.value if active else None),
        )

    return Markup(await fragment("ticket-counts", render_counts, active))


async def ticket_list(request: Request, query: ListQuery) -> Markup:
    """``#ticket-list``: the first page of a list, and the way to the next one."""
    window = await list_window(request, query)
    return Markup(render("tickets/_list.html", window=window, query=query))


async def list_window(request: Request, query: ListQuery) -> Markup:
    """One window of a list alone: what "Load more" appends, and what a
    window on screen re-fetches when the list's membership moves."""
    await filtered_person(request, query)  # a person's id that names nobody: 400

    async def render_window() -> str:
        async with database(request).session() as session:
            window = await queries.list_tickets(session, query)
            people = await queries.names(session, queries.people_of(window.tickets))
        rows = await fragments(
            "ticket-row", [(_row_key(t, people), _row_renderer(t, people)) for t in window.tickets]
        )
        # The window on screen re-fetches itself down to its last row, so a
        # new ticket joins it at the top and none drops out at the bottom.
        last = Cursor.of(window.tickets[-1], query.sort) if window.tickets and window.next else None
        source = replace(query, until=last) if last else query
        return render(
            "tickets/_window.html",
            rows=[Markup(row) for row in rows],
            query=query,
            next=replace(query.first_window(), cursor=window.next) if window.next else None,
            source=source,
        )

    return Markup(await fragment("ticket-window", render_window, query.canonical()))


async def ticket_source(request: Request, ticket_id: str) -> str:
    """A ticket page's live part; or, once the ticket is deleted, a notice saying so.

    The notice is a 200: a tab that had the ticket open re-fetches this when
    the ticket's tag moves, and a 404 there would be a failed load in its
    console. It is live itself while the delete can be undone.
    """
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
        people = await queries.people(session, queries.people_of([ticket] if ticket else []))
    if ticket is None:
        async with database(request).session() as session:
            restorable = await queries.get_deleted_ticket(session, ticket_id) is not None

        async def render_gone() -> str:
            # Both rows are read inside the notice, so that it depends on them:
            # an undo (one row back, the other gone) shows the ticket again here.
            async with database(request).session() as session:
                await queries.get_ticket(session, ticket_id)
                await queries.get_deleted_ticket(session, ticket_id)
            return render("tickets/_gone.html", source=paths.ticket_source_path(ticket_id))

        # Kept only while an undo can still bring the ticket back: a notice for
        # any other id (never a ticket, or past undo) is rendered, never stored.
        return await fragment("ticket-gone", render_gone, ticket_id, dynamic=not restorable)
    return render("tickets/detail.html", block="view", **_ticket_context(ticket, people, None))


async def ticket_row(request: Request, ticket_id: str) -> str:
    """One row alone (its live source); nothing once the ticket is deleted."""
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
    if ticket is None:

        async def render_nothing() -> str:
            return ""  # the page's script removes the row; never stored (any id would do)

        return await fragment("ticket-row-gone", render_nothing, dynamic=True)
    return await one_row(request, ticket)


async def one_row(request: Request, ticket: Ticket) -> str:
    """A ticket's row: cached inside a render; in an action's answer, rendered, not stored."""
    return (await rows_of(request, [ticket]))[0]


async def rows_of(request: Request, tickets: Sequence[Ticket]) -> list[str]:
    """Tickets' rows, as ``one_row`` makes each, with one read of the names they show."""
    async with database(request).session() as session:
        people = await queries.names(session, queries.people_of(tickets))
    rows = [(_row_key(ticket, people), _row_renderer(ticket, people)) for ticket in tickets]
    return await fragments("ticket-row", rows)


def _row_key(ticket: Ticket, people: dict[str, queries.Name]) -> tuple[str, ...]:
    """A row's fragment is keyed by its ticket and the names it shows: a rename
    makes new keys for that person's rows only (the list that read the names
    moved), and a row's entry holds its ticket's tag alone, so that a window of
    rows by many people stays within the cache's tags per entry."""
    shown = _people_of(ticket, people)
    return (ticket.id, *(person.name if person else "" for person in shown.values()))


def _row_renderer(ticket: Ticket, people: dict[str, queries.Name]) -> Callable[[], str]:
    def render_row() -> str:
        return render("tickets/_row.html", ticket=ticket, **_people_of(ticket, people))

    return render_row


def _people_of(ticket: Ticket, people: Mapping[str, User | queries.Name]) -> dict[str, Any]:
    """The author and assignee a ticket shows: on its page as entities, so that
    what it renders depends on their rows (a rename moves it); in a list as
    names (``_row_key``)."""
    return {
        "author": people.get(ticket.author_id or ""),
        "assignee": people.get(ticket.assignee_id or ""),
    }


async def filtered_person(request: Request, query: ListQuery) -> User | None:
    """The person a list is filtered by (``?assignee=<id>``), whose name it
    shows; an id that names nobody is a 400 (not stored: a 4xx declines)."""
    if query.assignee is None or query.assignee == NOBODY:
        return None
    async with database(request).session() as session:
        person = await queries.person(session, query.assignee)
    if person is None:
        raise HTTPException(400, UNKNOWN_ASSIGNEE)
    return person


# -- fragments ------------------------------------------------------------


async def legend() -> Markup:
    async def render_legend() -> str:
        return render("tickets/_legend.html")

    return Markup(await fragment("status-legend", render_legend))  # reads no data


def form_fragment(form: TicketForm, *, ticket: Ticket | None) -> str:
    return render("tickets/_form.html", form=form, ticket=ticket)


# -- pages ----------------------------------------------------------------


async def home_page(request: Request) -> str:
    return page(request, "home.html", counts=await counts(request))


async def tickets_page(request: Request, query: ListQuery, form: TicketForm | None = None) -> str:
    return page(
        request,
        "tickets/index.html",
        query=query,
        assignee=await filtered_person(request, query),
        sorts=list(Sort),
        counts=await counts(request, query.status),
        ticket_list=await ticket_list(request, query),
        legend=await legend(),
        form=form or TicketForm(),
        ticket=None,
    )


async def ticket_page(
    request: Request,
    ticket_id: str,
    form: TicketForm | None = None,
    *,
    comment_form: CommentForm | None = None,
    **extra: Any,
) -> str:
    """``extra``: what an action's answer adds (a conflict: app/tickets/conflicts.py)."""
    ticket = await _ticket_or_404(request, ticket_id)
    async with database(request).session() as session:
        people = await queries.people(session, queries.people_of([ticket]))
    context = _ticket_context(ticket, people, form)
    # The comments and the history follow the ticket's live part, beside it,
    # never inside: each is a live fragment of its own, whose tags the part
    # does not declare.
    comments = await comment_views.comments_section(request, ticket, comment_form)
    history = await timeline.ticket_timeline(request, ticket_id)
    return page(
        request, "tickets/detail.html", comments=comments, timeline=history, **context, **extra
    )


async def ticket_id_by_number(request: Request, number: int) -> str:
    async with database(request).session() as session:
        ticket_id = await queries.get_ticket_id_by_number(session, number)
    if ticket_id is None:
        raise HTTPException(404, NOT_FOUND)
    return ticket_id


async def confirm_delete_page(request: Request, ticket_id: str) -> str:
    ticket = await _ticket_or_404(request, ticket_id)
    return page(request, "tickets/delete.html", ticket=ticket)


async def _ticket_or_404(request: Request, ticket_id: str) -> Ticket:
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise HTTPException(404, NOT_FOUND)
    return ticket


def _ticket_context(
    ticket: Ticket, people: dict[str, User], form: TicketForm | None
) -> dict[str, Any]:
    if form is None:
        form = TicketForm(
            data={"title": ticket.title, "content": ticket.content, "status": ticket.status.value}
        )
    return {"ticket": ticket, "form": form, **_people_of(ticket, people)}


@dataclass(frozen=True, slots=True)
class _EarlierPage:
    """What tells one kind of "earlier" page from the other."""

    heading: str
    section_class: str
    section_id: str  # the ticket page's section it leads back to
    container_id: str
    back: str


_EARLIER_PAGES = {
    earlier.COMMENTS: _EarlierPage(
        "Earlier comments", "comments", ids.COMMENTS, ids.EARLIER_COMMENTS,
        "Back to the latest comments",
    ),
    earlier.CHANGES: _EarlierPage(
        "Earlier changes", "timeline card", ids.HISTORY, ids.EARLIER_CHANGES,
        "Back to the latest changes",
    ),
}  # fmt: skip


async def earlier_page(request: Request, ticket_id: str, stretch: earlier.Stretch) -> str:
    """Earlier comments or changes on a page of their own: where "Show earlier"
    leads a browser without JavaScript (with it, they load in place)."""
    async with database(request).session() as session:
        ticket = await queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise HTTPException(404, NOT_FOUND)
    if stretch.kind == earlier.COMMENTS:
        items = await comment_views.comment_list(request, ticket_id, stretch)
    else:
        items = await timeline.ticket_timeline(request, ticket_id, stretch)
    return render_page(
        "tickets/earlier_page.html",
        partial=wants_partial(request),
        ticket=ticket,
        items=items,
        page=_EARLIER_PAGES[stretch.kind],
    )
