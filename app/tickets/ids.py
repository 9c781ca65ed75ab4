"""Element ids that templates, actions and tests share, named once.

Templates reach them as the ``ids`` global: ``id="{{ ids.LIST }}"``.
"""

from __future__ import annotations

LIST = "ticket-list"  # the list: its pages, and the way to the next one
FIRST_PAGE = "ticket-page-first"  # an inline create's htmx target
RESULTS = "ticket-results"  # what a search or a filter replaces
SEARCH = "ticket-search"
FORM = "ticket-form"  # the create or edit form; a 422 is swapped over it
COUNTS = "ticket-counts"
VIEW = "ticket-view"  # a ticket page's main part
LEGEND = "status-legend"


def ticket(ticket_id: str) -> str:
    """A ticket's row in the list, or its card on its page: an inline action's target."""
    return f"ticket-{ticket_id}"


def page(cursor: str) -> str:
    """A page of the list after the first, by the cursor it starts after."""
    return f"ticket-page-{cursor}"


def field_error(name: str) -> str:
    """The message under an invalid field, which the field names in aria-describedby."""
    return f"{name}-error"
