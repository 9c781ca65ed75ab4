"""Undo of a comment's delete: a deleted comment is kept for a while, and can be put back.

As for a ticket (app/tickets/undo.py): the delete is immediate for everyone,
and the row it leaves in ``deleted_comment``, written in the same
transaction, is what an undo restores: the comment as it was, same id, same
dates, so it comes back where it stood in its ticket's list. Nothing renders
that table (its writes move nothing); the comment's own row coming back is
what moves its list, its ticket's count and its history.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Comment, DeletedComment, utcnow
from app.tickets.undo import claim, forget_expired


async def keep(session: AsyncSession, comment: Comment) -> None:
    """Keep ``comment`` for an undo (call as it is deleted); forget expired ones."""
    now = utcnow()
    await forget_expired(session, DeletedComment, now)
    await session.merge(DeletedComment(**_kept(comment), deleted_at=now))


async def restore(session: AsyncSession, comment_id: str) -> Comment | None:
    """Put a deleted comment back; ``None`` when it cannot be (never deleted,
    expired, restored already; of two undos racing, exactly one restores it)."""
    row = await claim(session, DeletedComment, comment_id)
    if row is None:
        return None
    comment = Comment(**_kept(row))
    session.add(comment)
    return comment


# What a deleted comment keeps: one list for both ways.
KEPT = ("id", "ticket_id", "author_id", "body", "created_at", "updated_at")


def _kept(row: Comment | DeletedComment) -> dict[str, Any]:
    return {name: getattr(row, name) for name in KEPT}
