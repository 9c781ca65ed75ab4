"""Every URL the app links to, named once (the seed's paths.ts).

``tests/test_paths.py`` checks each helper against ``app.url_path_for``.
``safe_next`` keeps a ``?next=`` (where signing in leads) on this site.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

# The holes' URLs are part of the edge contract, named there; templates find them here.
from app.edge_contract import account_hole_path as account_hole_path
from app.edge_contract import comment_hole_path as comment_hole_path
from app.edge_contract import delete_hole_path as delete_hole_path
from app.edge_contract import editor_hole_path as editor_hole_path
from app.edge_contract import revert_hole_path as revert_hole_path


def home_path() -> str:
    return "/"


def tickets_path(query: str = "") -> str:
    """The list; ``query`` is a canonical list query (filters.ListQuery.canonical)."""
    return f"/tickets?{query}" if query else "/tickets"


def ticket_path(ticket_id: str) -> str:
    return f"/tickets/{ticket_id}"


def ticket_number_path(number: int) -> str:
    """A ticket by its short number (``/tickets/123``): a redirect to its page."""
    return f"/tickets/{number}"


def ticket_update_path(ticket_id: str) -> str:
    return f"/tickets/{ticket_id}/update"


def ticket_delete_path(ticket_id: str) -> str:
    return f"/tickets/{ticket_id}/delete"


def ticket_restore_path(ticket_id: str) -> str:
    """Undo of a delete."""
    return f"/tickets/{ticket_id}/restore"


# -- a ticket's history (app/tickets/timeline.py, app/tickets/revert.py) --


def change_revert_path(ticket_id: str, change_id: int) -> str:
    """Revert one title or description edit (a new change, recorded too)."""
    return f"/tickets/{ticket_id}/changes/{change_id}/revert"


def timeline_source_path(ticket_id: str, query: str = "") -> str:
    """A ticket's timeline alone: its live fragment's source; ``query``: a
    stretch's canonical query (app/tickets/earlier.py), earlier changes."""
    return _with(f"/fragments/tickets/{ticket_id}/history", query)


def history_page_path(ticket_id: str, query: str = "") -> str:
    """Earlier changes of a ticket on a page of their own (what a browser
    without JavaScript follows "Show earlier changes" to)."""
    return _with(f"/tickets/{ticket_id}/history", query)


def _with(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


# -- bulk actions on a selection of the list (app/tickets/bulk.py) --


def tickets_bulk_path() -> str:
    """One action on many tickets: fields ``ids`` (repeated) and ``action``."""
    return "/tickets/bulk"


def tickets_restore_path(ticket_ids: Sequence[str] = ()) -> str:
    """Undo of a bulk delete: every ticket of ``ticket_ids`` back at once."""
    query = urlencode([("ids", ticket_id) for ticket_id in ticket_ids])
    return f"/tickets/restore?{query}" if query else "/tickets/restore"


def counts_source_path(status: str | None = None) -> str:
    """The counts, with the filter link of ``status`` marked as the current one."""
    return f"/fragments/counts?status={status}" if status else "/fragments/counts"


def list_source_path(query: str = "") -> str:
    """One page (window) of a list; ``query`` as for tickets_path, ``until`` allowed."""
    return f"/fragments/tickets?{query}" if query else "/fragments/tickets"


def row_source_path(ticket_id: str) -> str:
    return f"/fragments/tickets/{ticket_id}/row"


def ticket_source_path(ticket_id: str) -> str:
    return f"/fragments/tickets/{ticket_id}"


def assignee_options_path() -> str:
    """Everyone a ticket can be assigned to, as the bulk bar's options: a source
    of its own, so that a sign-up or a rename moves it and no list page."""
    return "/fragments/people/assignee-options"


def assignee_picker_path(ticket_id: str) -> str:
    """A ticket's assignee picker (everyone, by name): a source of its own, so
    that a sign-up moves it and no ticket's page."""
    return f"/fragments/tickets/{ticket_id}/assignee"


def legend_source_path() -> str:
    return "/fragments/status-legend"


def signup_path() -> str:
    return "/signup"


def login_path() -> str:
    return "/login"


def logout_path() -> str:
    return "/logout"


def account_path() -> str:
    """The signed-in person's own page: their name, which they can change."""
    return "/account"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only, else the list."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return tickets_path()


def metrics_path() -> str:
    return "/metrics"


def events_path() -> str:
    return "/events"


def cache_inspector_path() -> str:
    """What the cache holds for a URL, and what it did (admins only: app/admin.py)."""
    return "/admin/cache"


def cache_figures_path() -> str:
    """The last hour of the cache's figures, as JSON for the admin page's charts."""
    return "/admin/cache/figures"


# -- comments (issue 24) ----------------------------------------------------------


def ticket_comments_path(ticket_id: str) -> str:
    """Where a ticket's new comment is posted."""
    return f"/tickets/{ticket_id}/comments"


def comment_edit_path(ticket_id: str, comment_id: str) -> str:
    """A comment's edit form, on a page of its own (its author's and admins')."""
    return f"/tickets/{ticket_id}/comments/{comment_id}/edit"


def comment_update_path(ticket_id: str, comment_id: str) -> str:
    return f"/tickets/{ticket_id}/comments/{comment_id}/update"


def comment_delete_path(ticket_id: str, comment_id: str) -> str:
    return f"/tickets/{ticket_id}/comments/{comment_id}/delete"


def comments_source_path(ticket_id: str, query: str = "") -> str:
    """A ticket's comments, oldest first: the live fragment its page re-fetches;
    ``query``: a stretch's canonical query (app/tickets/earlier.py)."""
    return _with(f"/fragments/tickets/{ticket_id}/comments", query)


def comments_page_path(ticket_id: str, query: str = "") -> str:
    """Earlier comments of a ticket on a page of their own (without JavaScript)."""
    return _with(ticket_comments_path(ticket_id), query)


def comment_restore_path(ticket_id: str, comment_id: str) -> str:
    """Undo of a comment's delete."""
    return f"/tickets/{ticket_id}/comments/{comment_id}/restore"
