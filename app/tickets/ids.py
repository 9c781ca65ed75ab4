"""Element ids that templates, actions and tests share, named once.

Templates reach them as the ``ids`` global: ``id="{{ ids.LIST }}"``.
"""

from __future__ import annotations

LIST = "ticket-list"  # the list; an inline create's htmx target
FORM = "ticket-form"  # the create or edit form; a 422 is swapped over it
COUNTS = "ticket-counts"
VIEW = "ticket-view"  # a ticket page's main part
LEGEND = "status-legend"


def ticket(ticket_id: str) -> str:
    """A ticket's row in the list, or its card on its page: an inline action's target."""
    return f"ticket-{ticket_id}"


def field_error(name: str) -> str:
    """The message under an invalid field, which the field names in aria-describedby."""
    return f"{name}-error"
