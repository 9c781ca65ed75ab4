"""Element ids that templates, actions and tests share, named once.

``ticket-<id>`` is a ticket's own element (the public contract counts them),
so ids of other things do not start with ``ticket-`` unless they predate
that rule (list, counts, form, view).

Templates reach them as the ``ids`` global: ``id="{{ ids.LIST }}"``.
"""

from __future__ import annotations

LIST = "ticket-list"  # the list: its pages, and the way to the next one
FIRST_PAGE = "list-page-first"  # an inline create's htmx target
RESULTS = "list-results"  # what a search or a filter replaces
SEARCH = "list-search"
FORM = "ticket-form"  # the create or edit form; a 422 is swapped over it
COUNTS = "ticket-counts"
VIEW = "ticket-view"  # a ticket page's main part
LEGEND = "status-legend"


def ticket(ticket_id: str) -> str:
    """A ticket's row in the list, or its card on its page: an inline action's target."""
    return f"ticket-{ticket_id}"


def page(cursor: str) -> str:
    """A page of the list after the first, by the cursor it starts after."""
    return f"list-page-{cursor}"


def field_error(name: str) -> str:
    """The message under an invalid field, which the field names in aria-describedby."""
    return f"{name}-error"
