"""The data: tickets."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlalchemy import Index, event
from sqlmodel import Field, SQLModel

from app.tickets.search import search_text

TITLE_MAX = 191
CONTENT_MAX = 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


class TicketStatus(enum.StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"

    @property
    def label(self) -> str:
        return {"OPEN": "Open", "IN_PROGRESS": "In progress", "DONE": "Done"}[self.value]


class Ticket(SQLModel, table=True):
    # Lists are newest first, paged by (created_at, id): these indexes serve
    # them without sorting, filtered by status or not.
    __table_args__ = (
        Index("ix_ticket_newest", "created_at", "id"),
        Index("ix_ticket_status_newest", "status", "created_at", "id"),
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    title: str = Field(max_length=TITLE_MAX)
    content: str = Field(max_length=CONTENT_MAX)
    status: TicketStatus = Field(default=TicketStatus.OPEN)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The words of title and content, folded (app/tickets/search.py): what the
    # search index is built from. Kept in step on every ORM write, below.
    search_text: str = Field(default="")


class TicketCount(SQLModel, table=True):
    """How many tickets have a status: kept by triggers on ticket (migration 0003)."""

    __tablename__ = "ticket_count"

    status: str = Field(primary_key=True, max_length=11)
    n: int


class DeletedTicket(SQLModel, table=True):
    """A deleted ticket, kept for a while so that its deletion can be undone.

    Written in the delete's own transaction; an undo puts the ticket back as it
    was (same id, same dates) and removes this row. Rows older than the undo
    window are pruned by the next delete.
    """

    __tablename__ = "deleted_ticket"

    id: str = Field(primary_key=True, max_length=36)
    title: str = Field(max_length=TITLE_MAX)
    content: str = Field(max_length=CONTENT_MAX)
    status: TicketStatus
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime = Field(default_factory=utcnow, index=True)


class InvalidationOutbox(SQLModel, table=True):
    """The invalidations of a committed write that no process has applied yet
    (app/outbox.py): written in the write's own transaction."""

    __tablename__ = "invalidation_outbox"

    id: int | None = Field(default=None, primary_key=True)
    queued: str  # JSON: [[tag, stale], ...]
    created_at: datetime = Field(default_factory=utcnow, index=True)


@event.listens_for(Ticket, "before_insert")
@event.listens_for(Ticket, "before_update")
def _index_words(_mapper: object, _connection: object, ticket: Ticket) -> None:
    ticket.search_text = search_text(ticket.title, ticket.content)
