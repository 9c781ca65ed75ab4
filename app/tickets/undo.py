"""Undo of a delete: a deleted ticket is kept for a while, and can be put back.

A delete is immediate for everyone (the next read is fresh without the ticket,
its page is a 404); the row it leaves in ``deleted_ticket``, written in the
same transaction, is what an undo restores: the ticket as it was, same id and
dates, so it comes back where it stood in every list. An undo is a write of
its own, invalidated like a create.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import DeletedComment, DeletedTicket, Ticket, utcnow

# How long the server accepts an undo: far longer than the few seconds the
# page offers it, so that a slow network or a busy person never loses it.
UNDO_WINDOW = timedelta(minutes=10)


# The tables that keep a deleted row for its undo (a ticket's, a comment's).
Kept = TypeVar("Kept", DeletedTicket, DeletedComment)


async def forget_expired(session: AsyncSession, kept: type[Kept], now: datetime) -> None:
    """Drop the kept rows no undo can claim any more."""
    await session.exec(delete(kept).where(col(kept.deleted_at) < now - UNDO_WINDOW))


async def claim(session: AsyncSession, kept: type[Kept], row_id: str) -> Kept | None:
    """The kept row of ``row_id``, claimed by deleting it (``RETURNING``), so of
    two undos racing, exactly one gets it; ``None`` when never deleted,
    expired or claimed already."""
    claimed = await session.exec(
        delete(kept)
        .where(col(kept.id) == row_id)
        .where(col(kept.deleted_at) >= utcnow() - UNDO_WINDOW)
        .returning(kept)
    )
    row: Kept | None = claimed.scalar_one_or_none()
    return row


async def keep(session: AsyncSession, ticket: Ticket) -> None:
    """Keep ``ticket`` for an undo (call before deleting it); forget expired ones."""
    now = utcnow()
    await forget_expired(session, DeletedTicket, now)
    await session.merge(DeletedTicket(id=ticket.id, **_kept(ticket), deleted_at=now))


async def restore(session: AsyncSession, ticket_id: str) -> Ticket | None:
    """Put a deleted ticket back; ``None`` when it cannot be (never deleted, expired, restored)."""
    kept = await claim(session, DeletedTicket, ticket_id)
    if kept is None:
        return None
    ticket = Ticket(id=ticket_id, **_kept(kept))
    session.add(ticket)
    return ticket


# What a deleted ticket keeps, so that an undo puts it back as it was: one list
# for both ways (a column added to tickets is added here once).
KEPT = (
    "title",
    "content",
    "status",
    "created_at",
    "updated_at",
    "author_id",
    "assignee_id",
    "version",
    "comment_count",
    "number",
)


def _kept(row: Ticket | DeletedTicket) -> dict[str, Any]:
    return {name: getattr(row, name) for name in KEPT}
