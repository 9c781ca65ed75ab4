"""Element ids that templates, actions and tests share, named once.

``ticket-<id>`` is a ticket's own element (the public contract counts them),
so ids of other things do not start with ``ticket-`` unless they predate
that rule (list, counts, form, view).

Templates reach them as the ``ids`` global: ``id="{{ ids.LIST }}"``. Like
app/paths.py, they sit below the templating layer, which knows no feature.
"""

from __future__ import annotations

LIST = "ticket-list"  # the list: its pages, and the way to the next one
FIRST_PAGE = "list-page-first"  # an inline create's htmx target
RESULTS = "list-results"  # what a search or a filter replaces
SEARCH = "list-search"
FORM = "ticket-form"  # the create or edit form; a 422 is swapped over it
NEW_TICKET = "new-ticket"  # the disclosure that holds the create form ("New ticket", `c`)
EDIT_TICKET = "edit-ticket"  # the disclosure that holds a ticket's edit form ("Edit", `e`)
COUNTS = "ticket-counts"
VIEW = "ticket-view"  # a ticket page's main part
LEGEND = "status-legend"
LIST_HEADING = "list-heading"  # where focus goes when the list on screen empties
SEARCH_FIELD = "search-q"
TIMELINE = "ticket-history"  # a ticket page's timeline of changes (app/tickets/timeline.py)
CONFLICT = "edit-conflict"  # what a 409 puts in place of the edit form (app/tickets/conflicts.py)
# A selection of the list's rows and what can be done to it (static/bulk.js)
BULK = "bulk"  # the form every row's checkbox belongs to (form=)
BULK_COUNT = "bulk-count"
SELECT_ALL = "select-all"  # "Select all shown"
# Who is on a ticket, and the list's filter and order (people24)
ASSIGNEE_PICKER = "assignee-picker"  # the ticket page's picker, loaded from its own source
ASSIGNEE_FILTER = "filter-assignee"
SORT = "list-sort"
ACCOUNT_BAR = "account-bar"  # the top bar's account part: a rename swaps it in place
ACCOUNT_FORM = "account-form"
ACCOUNT_NAME = "account-name"
# The page's own parts (static/ui.js)
NOTICES = "notices"
ALERTS = "alerts"
OFFLINE = "offline"
SHORTCUTS = "shortcuts"


def ticket(ticket_id: str) -> str:
    """A ticket's row in the list, or its card on its page: an inline action's target."""
    return f"ticket-{ticket_id}"


def page(cursor: str) -> str:
    """A page of the list after the first, by the cursor it starts after."""
    return f"list-page-{cursor}"


def row_title(ticket_id: str) -> str:
    """A row's title link, which describes the row's Delete button."""
    return f"title-{ticket_id}"


def row_pick(ticket_id: str) -> str:
    """A row's checkbox, which puts it in the selection (``x``, shift-click: static/bulk.js)."""
    return f"pick-{ticket_id}"


def status_control(ticket_id: str) -> str:
    """A row's status select: htmx keeps focus on it across the row's swap by this id."""
    return f"status-{ticket_id}"


def field(name: str, ticket: object | None = None) -> str:
    """A field of the create form (``new-title``, the ``c`` shortcut's) or of the edit form."""
    return f"{'edit' if ticket else 'new'}-{name}"


def field_error(name: str) -> str:
    """The message under an invalid field, which the field names in aria-describedby."""
    return f"{name}-error"


# -- comments (issue 24) ----------------------------------------------------------

COMMENTS = "comments"  # a ticket page's comments: their heading, list and form
COMMENTS_HEADING = "comments-heading"  # where focus goes when a comment leaves
COMMENT_LIST = "comment-list"  # the live fragment: the comments, oldest first
COMMENT_FORM = "comment-form"  # the new comment's form; a 422 comes back in it
COMMENT_BODY = "comment-body"  # the new comment's field
# Where "Show earlier comments" / "Show earlier changes" put the pages they load
# (above the latest part, outside it: its live refresh leaves them be).
EARLIER_COMMENTS = "comments-earlier"
COMMENTS_SINCE = "comments-since"  # where the latest part starts: sent with its actions
EARLIER_CHANGES = "history-earlier"
HISTORY = "history"  # a ticket page's history: its heading, earlier changes and timeline


def comment(comment_id: str) -> str:
    """A comment in its ticket's list (``#comment-<id>``: a link to it)."""
    return f"comment-{comment_id}"


def earlier(kind: str, before: str) -> str:
    """A page of earlier comments or changes, by the item it stops before
    (``comments-before-<comment id>``, ``changes-before-<change id>``)."""
    return f"{kind}-before-{before}"


def change(change_id: int | None) -> str:
    """A change in its ticket's history (focus goes to the first of those loaded)."""
    return f"change-{change_id}"
