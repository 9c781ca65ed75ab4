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

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Comment, DeletedComment, utcnow
from app.tickets.undo import UNDO_WINDOW


async def keep(session: AsyncSession, comment: Comment) -> None:
    """Keep ``comment`` for an undo (call as it is deleted); forget expired ones."""
    now = utcnow()
    await session.exec(
        delete(DeletedComment).where(col(DeletedComment.deleted_at) < now - UNDO_WINDOW)
    )
    await session.merge(DeletedComment(**_kept(comment), deleted_at=now))


async def restore(session: AsyncSession, comment_id: str) -> Comment | None:
    """Put a deleted comment back; ``None`` when it cannot be (never deleted,
    expired, restored already).

    The kept row is claimed by deleting it (``RETURNING``), so of two undos
    racing, exactly one restores the comment.
    """
    claimed = await session.exec(
        delete(DeletedComment)
        .where(col(DeletedComment.id) == comment_id)
        .where(col(DeletedComment.deleted_at) >= utcnow() - UNDO_WINDOW)
        .returning(DeletedComment)
    )
    row = claimed.scalar_one_or_none()
    if row is None:
        return None
    comment = Comment(**_kept(row))
    session.add(comment)
    return comment


# What a deleted comment keeps: one list for both ways.
KEPT = ("id", "ticket_id", "author_id", "body", "created_at", "updated_at")


def _kept(row: Comment | DeletedComment) -> dict[str, Any]:
    return {name: getattr(row, name) for name in KEPT}
