"""The data: tickets."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

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
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    title: str = Field(max_length=TITLE_MAX)
    content: str = Field(max_length=CONTENT_MAX)
    status: TicketStatus = Field(default=TicketStatus.OPEN)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
