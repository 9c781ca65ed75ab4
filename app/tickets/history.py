"""A ticket's history: every change, who made it and when, written in the
change's own transaction (so it is exactly as durable as the change).

Each ``TicketChange`` row has a ``kind``; for the edited fields (``title``,
``content``, ``status``, ``assignee``) ``old`` and ``new`` hold the values
as text (a status's value, a person's id, "" for nobody); for a comment,
``new`` (added, restored) or ``old`` (removed) holds the comment's id; ``created``,
``deleted`` and ``restored`` hold nothing.

``edit`` is the one way a person's edit changes a ticket: it sets only the
fields whose value differs, records each, and moves the ticket's version,
which is what an edit form is made from (a save from an older version is
checked against the changes recorded since).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Ticket, TicketChange, TicketStatus, utcnow

CREATED = "created"
DELETED = "deleted"
RESTORED = "restored"
COMMENT_ADDED = "comment_added"
COMMENT_REMOVED = "comment_removed"
COMMENT_RESTORED = "comment_restored"
# The fields a person edits, by the name their change is recorded under.
FIELDS = {"title": "title", "content": "content", "status": "status", "assignee": "assignee_id"}


def as_text(value: object) -> str:
    """A field's value as the history keeps it."""
    if value is None:
        return ""
    if isinstance(value, TicketStatus):
        return value.value
    return str(value)


def record(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    actor_id: str | None,
    *,
    old: str | None = None,
    new: str | None = None,
) -> TicketChange:
    change = TicketChange(
        ticket_id=ticket.id, version=ticket.version, kind=kind, actor_id=actor_id, old=old, new=new
    )
    session.add(change)
    return change


def discussed(
    session: AsyncSession, ticket: Ticket, kind: str, actor_id: str | None, **values: str | None
) -> TicketChange:
    """A comment added, removed or restored: recorded, and, as activity, the
    ticket's ``updated_at`` moves (``?sort=updated``); its version does not, as
    no field an edit form holds changed."""
    ticket.updated_at = utcnow()
    session.add(ticket)
    return record(session, ticket, kind, actor_id, **values)  # old=, new=


def edit(
    session: AsyncSession, ticket: Ticket, values: Mapping[str, object], actor_id: str | None
) -> list[str]:
    """Set the ``values`` (by field: ``title``, ``content``, ``status``,
    ``assignee``) that differ from the ticket's; record each change under the
    ticket's next version. Returns the fields changed (none: nothing written)."""
    changed = [
        field
        for field, value in values.items()
        if as_text(getattr(ticket, FIELDS[field])) != as_text(value)
    ]
    if not changed:
        return []
    ticket.version += 1
    ticket.updated_at = utcnow()
    for field in changed:
        attribute = FIELDS[field]
        old, new = as_text(getattr(ticket, attribute)), as_text(values[field])
        setattr(ticket, attribute, values[field])
        record(session, ticket, field, actor_id, old=old, new=new)
    session.add(ticket)
    return changed
