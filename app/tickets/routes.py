"""GET routes: read, render, answer, through the cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app import paths
from app.cache import cached
from app.models import ID_PATTERN
from app.tickets import (
    actions,
    bulk,
    comment_views,
    comments,
    earlier,
    picker,
    revert,
    timeline,
    views,
)
from app.tickets.filters import ListQuery, parse_status
from app.tickets.mine import resolving_me


class TicketIdConvertor(Convertor[str]):
    """A ticket id as the app makes them (a lowercase UUID): any other path is a
    404 before any handler, cache key or tag sees it (no 5,000-character id,
    no NUL, no second spelling of one ticket's page)."""

    regex = ID_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class TicketNumberConvertor(Convertor[int]):
    """A ticket's short number (``#123``): up to 9 digits, so that it fits the
    column (a 32-bit integer on PostgreSQL; ``int()`` of thousands of digits,
    which raises, never runs); a longer one is no ticket's, a 404."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


class ChangeIdConvertor(TicketNumberConvertor):
    """A change's id in a ticket's history: up to 9 digits, as a number is."""


register_url_convertor("ticket_id", TicketIdConvertor())
register_url_convertor("change_id", ChangeIdConvertor())
register_url_convertor("ticket_number", TicketNumberConvertor())


def no_query(request: Request) -> str:
    """For routes that take no parameters: any query string is ignored."""
    return ""


def list_query(request: Request) -> str:
    return listed(request).canonical()


def window_query(request: Request) -> str:
    return listed(request, windows=True).canonical()


def counts_query(request: Request) -> str:
    status = parse_status(request.query_params)
    return f"status={status.value}" if status else ""


def _stretch(kind: earlier.Kind, request: Request) -> earlier.Stretch:
    """The comments or changes a request asks for (``?before=``, ``?since=``): a
    bad cursor is a 400."""
    return earlier.Stretch.parse(kind, request.path_params["ticket_id"], request.query_params)


def listed(request: Request, *, windows: bool = False) -> ListQuery:
    """The list this request asks for, parsed once: its cache key and its view both use it.
    A list already set is kept: ``mine.resolving_me`` sets ``?assignee=me``'s as the
    person's own id's, so that key and view name the id and never ``me``."""
    if not hasattr(request.state, "list_query"):
        request.state.list_query = ListQuery.parse(request.query_params, windows=windows)
    query: ListQuery = request.state.list_query
    return query


@cached(query=no_query)
async def home(request: Request) -> str:
    return await views.home_page(request)


@resolving_me  # ?assignee=me: the person's own id's list, never a key
@cached(query=list_query)
async def tickets(request: Request) -> str:
    return await views.tickets_page(request, listed(request))


@cached(query=no_query)
async def ticket(request: Request) -> str:
    return await views.ticket_page(request, request.path_params["ticket_id"])


async def ticket_by_number(request: Request) -> RedirectResponse:
    """``/tickets/123``: the ticket's page by its short number. Not cached: the
    answer is a redirect, and the same number never names another ticket."""
    ticket_id = await views.ticket_id_by_number(request, request.path_params["number"])
    return RedirectResponse(paths.ticket_path(ticket_id), status_code=302)


async def confirm_delete(request: Request) -> HTMLResponse:
    """Not cached: a page only browsers without JavaScript ask for, now and then."""
    return HTMLResponse(await views.confirm_delete_page(request, request.path_params["ticket_id"]))


# The sources of live fragments: what a page re-fetches when their tags move.


@cached(query=counts_query)
async def counts_source(request: Request) -> str:
    return str(await views.counts(request, parse_status(request.query_params)))


@cached(query=window_query)
async def list_source(request: Request) -> str:
    return str(await views.list_window(request, listed(request, windows=True)))


@cached(query=no_query)
async def row_source(request: Request) -> str:
    return await views.ticket_row(request, request.path_params["ticket_id"])


@cached(query=no_query)
async def ticket_source(request: Request) -> str:
    return await views.ticket_source(request, request.path_params["ticket_id"])


def comments_query(request: Request) -> str:
    """A stretch of a ticket's comments (``before``, ``since``): a bad cursor is a 400."""
    return _stretch(earlier.COMMENTS, request).canonical()


def changes_query(request: Request) -> str:
    """A stretch of a ticket's changes (``before``, ``since``): a bad cursor is a 400."""
    return _stretch(earlier.CHANGES, request).canonical()


@cached(query=changes_query)
async def timeline_source(request: Request) -> str:
    ticket_id = request.path_params["ticket_id"]
    return str(
        await timeline.ticket_timeline(request, ticket_id, _stretch(earlier.CHANGES, request))
    )


@cached(query=changes_query)
async def history_page(request: Request) -> str:
    """Earlier changes on a page of their own (without JavaScript)."""
    ticket_id = request.path_params["ticket_id"]
    return await views.earlier_page(request, ticket_id, _stretch(earlier.CHANGES, request))


@cached(query=comments_query)
async def comments_page(request: Request) -> str:
    """Earlier comments on a page of their own (without JavaScript)."""
    ticket_id = request.path_params["ticket_id"]
    return await views.earlier_page(request, ticket_id, _stretch(earlier.COMMENTS, request))


@cached(query=no_query)
async def assignee_picker_source(request: Request) -> str:
    return await picker.assignee_picker(request, request.path_params["ticket_id"])


@cached(query=no_query)
async def assignee_options_source(request: Request) -> str:
    return await picker.assignee_options(request)


@cached(query=no_query)
async def legend_source(request: Request) -> str:
    return str(await views.legend())


@cached(query=comments_query)
async def comments_source(request: Request) -> str:
    ticket_id = request.path_params["ticket_id"]
    return await comment_views.comments_source(
        request, ticket_id, _stretch(earlier.COMMENTS, request)
    )


Endpoint = Callable[[Request], Awaitable[Response]]


def _get(path: str, endpoint: Endpoint, name: str) -> Route:
    return Route(path, endpoint, methods=["GET"], name=name)


def _post(path: str, endpoint: Endpoint, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


TICKET = "/tickets/{ticket_id:ticket_id}"
COMMENT = TICKET + "/comments/{comment_id:ticket_id}"
SOURCE = "/fragments/tickets/{ticket_id:ticket_id}"  # a ticket's live parts

routes = [
    _get("/", home, "home"),
    _get("/tickets", tickets, "tickets"),
    _post("/tickets", actions.create_ticket, "ticket_create"),
    _get(TICKET, ticket, "ticket"),
    _get("/tickets/{number:ticket_number}", ticket_by_number, "ticket_by_number"),
    _post(TICKET + "/update", actions.update_ticket, "ticket_update"),
    _get(TICKET + "/update", actions.edit_ticket_again, "ticket_update_again"),
    _post(TICKET + "/delete", actions.delete_ticket, "ticket_delete"),
    # Without JavaScript, Delete asks first on a page of its own (with it, Undo).
    _get(TICKET + "/delete", confirm_delete, "ticket_confirm_delete"),
    _post(TICKET + "/restore", actions.restore_ticket, "ticket_restore"),
    # A ticket's history: its timeline's source, and reverting one edit from it.
    _post(TICKET + "/changes/{change_id:change_id}/revert", revert.revert_change, "change_revert"),
    _get(SOURCE + "/history", timeline_source, "timeline_source"),
    _get(TICKET + "/history", history_page, "history_page"),
    # Bulk actions on a selection of the list (app/tickets/bulk.py).
    _post("/tickets/bulk", bulk.bulk_change, "tickets_bulk"),
    _post("/tickets/restore", bulk.bulk_restore, "tickets_restore"),
    _get("/fragments/counts", counts_source, "counts_source"),
    _get("/fragments/tickets", list_source, "list_source"),
    _get(SOURCE, ticket_source, "ticket_source"),
    _get(SOURCE + "/row", row_source, "row_source"),
    _get(SOURCE + "/assignee", assignee_picker_source, "assignee_picker_source"),
    _get("/fragments/people/assignee-options", assignee_options_source, "assignee_options_source"),
    _get("/fragments/status-legend", legend_source, "legend_source"),
    # Comments (issue 24): add, edit (a page of its own), delete; the live list.
    _post(TICKET + "/comments", comments.create_comment, "ticket_comments"),
    _get(COMMENT + "/edit", comments.edit_comment, "comment_edit"),
    _post(COMMENT + "/update", comments.update_comment, "comment_update"),
    _post(COMMENT + "/delete", comments.delete_comment, "comment_delete"),
    _post(COMMENT + "/restore", comments.restore_comment, "comment_restore"),
    _get(TICKET + "/comments", comments_page, "comments_page"),
    _get(SOURCE + "/comments", comments_source, "comments_source"),
]
