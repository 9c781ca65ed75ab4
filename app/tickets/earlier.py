"""A stretch of a ticket's comments or changes, oldest first, bounded by cursors.

A ticket's page shows the latest of its comments and of its changes; "Show
earlier" loads the ones before them, a page at a time, each page a live
fragment of its own. A ``Stretch`` is the half-open range ``[since, before)``
of one ticket's items in their order (a comment's ``(created_at, id)``, a
change's ``id``):

- no bound: the latest ``shown`` (a ticket page's part);
- ``before`` alone: the ``shown`` just before it (what "Show earlier" loads);
- with ``since``: every item from there on (up to ``before``, if given).

Once rendered, a stretch that has items before it names its oldest as its
``since`` in the source it is re-fetched from (``anchored``): a new item then
joins it at its end and none drops out at its start, so the pages loaded
above it stay next to it, neither overlapping nor leaving a gap (the list's
``until``, turned round). One that grew past ``MAX_STRETCH`` starts again
from the latest ``shown``: a tab left open for days re-fetches a page it can
page back from again, never one of thousands of items.

A cursor is an item's key, and names its kind and its ticket: a list's
cursor, one of the other kind or of another ticket is a 400, as is anything
``Key.encode`` did not write (``Stretch.parse``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException

from app import ids
from app.models import Comment, TicketChange, is_id
from app.tickets.sorts import utc

Kind = Literal["comments", "changes"]
COMMENTS: Kind = "comments"
CHANGES: Kind = "changes"
# A stretch re-fetched from its ``since`` holds at most this many items: each
# is a tag of its entry, and so is each person it names (tags.py's bound is 512).
MAX_STRETCH = 100
CHANGE_ID_MAX = 999_999_999  # a change id as its route takes it: up to 9 digits


def bad_cursor(kind: Kind) -> str:
    return f"This link to earlier {kind} is not valid: open the ticket's page again."


@dataclass(frozen=True, slots=True)
class Key:
    """An item's place in its order: a comment's ``(at, id)``; a change's ``id`` (``at`` None)."""

    id: str
    at: datetime | None = None

    @classmethod
    def of_comment(cls, comment: Comment) -> Key:
        return cls(comment.id, utc(comment.created_at))

    @classmethod
    def of_change(cls, change: TicketChange) -> Key:
        return cls(str(change.id))

    def encode(self, kind: Kind, ticket_id: str) -> str:
        parts = [kind, ticket_id, *([self.at.isoformat()] if self.at else []), self.id]
        return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, kind: Kind, ticket_id: str) -> Key:
        """The key ``encode`` wrote for this kind and ticket; anything else is a 400."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            named_kind, named_ticket, *rest = raw.split("|")
            if (named_kind, named_ticket) != (kind, ticket_id):
                raise ValueError("another list's cursor")
            if kind == COMMENTS:
                at, item = rest
                key = cls(item, utc(datetime.fromisoformat(at)))
                if not is_id(key.id):
                    raise ValueError("no comment id")
            else:
                (item,) = rest
                if not (item.isascii() and item.isdigit() and 0 < int(item) <= CHANGE_ID_MAX):
                    raise ValueError("no change id")
                key = cls(str(int(item)))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise HTTPException(400, bad_cursor(kind)) from None
        return key


@dataclass(frozen=True, slots=True)
class Stretch:
    kind: Kind
    ticket_id: str
    before: Key | None = None  # up to this item, excluded; None: up to the latest
    since: Key | None = None  # from this item, included; None: the latest ``shown``

    @classmethod
    def parse(cls, kind: Kind, ticket_id: str, params: Mapping[str, str]) -> Stretch:
        """The stretch a query string asks for (``before``, ``since``); others are ignored."""
        bounds = {
            name: Key.decode(params[name], kind, ticket_id) if params.get(name) else None
            for name in ("before", "since")
        }
        return cls(kind, ticket_id, **bounds)

    @property
    def earlier(self) -> bool:
        """A page before the latest part (its element is one of many: ``before`` names it)."""
        return self.before is not None

    def canonical(self) -> str:
        """This stretch's query string, one per meaning: its entry's key, its URLs'."""
        params = [(name, key) for name, key in (("before", self.before), ("since", self.since))]
        return urlencode(
            [(name, key.encode(self.kind, self.ticket_id)) for name, key in params if key]
        )

    def cursor(self, key: Key) -> str:
        return key.encode(self.kind, self.ticket_id)

    def element_id(self, latest: str) -> str:
        """The id of its element on the page: the latest part's (``latest``), or
        that of the earlier block it is."""
        return latest if self.before is None else ids.earlier(self.kind, self.before.id)


@dataclass(frozen=True, slots=True)
class Found:
    """What a stretch holds, oldest first, and whether items come before them."""

    items: list[Any]  # Comment | TicketChange
    oldest: Key | None  # the first item's key (where "Show earlier" continues)
    more: bool  # items before ``oldest``

    def anchored(self, stretch: Stretch) -> Stretch:
        """The stretch to re-fetch this one from: from its oldest, while any come before."""
        return replace(stretch, since=self.oldest if self.more else None)


async def read(session: AsyncSession, stretch: Stretch, shown: int) -> Found:
    """The items of ``stretch``: ``shown`` of them, or with ``since`` up to ``MAX_STRETCH``."""
    model, keys = _order(stretch.kind)
    statement = select(model).where(col(model.ticket_id) == stretch.ticket_id)
    if stretch.before is not None:
        statement = statement.where(_before(keys, stretch.before))
    if stretch.since is not None:
        statement = statement.where(~_before(keys, stretch.since))
    limit = MAX_STRETCH if stretch.since is not None else shown
    rows = list(await session.exec(statement.order_by(*(k.desc() for k in keys)).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:shown] if more else rows  # past MAX_STRETCH: the latest ``shown`` again
    items = list(reversed(rows))
    oldest = _key(stretch.kind, items[0]) if items else None
    if not more and stretch.since is not None and oldest is not None:
        more = await _any_before(session, stretch, oldest)
    return Found(items, oldest, more)


async def _any_before(session: AsyncSession, stretch: Stretch, key: Key) -> bool:
    model, keys = _order(stretch.kind)
    statement = (
        select(col(model.id))
        .where(col(model.ticket_id) == stretch.ticket_id)
        .where(_before(keys, key))
        .limit(1)
    )
    return (await session.exec(statement)).first() is not None


def _order(kind: Kind) -> tuple[Any, list[Any]]:
    """The model of a kind and the columns it is ordered by (an index each:
    ix_comment_ticket, ix_ticket_change_ticket, after the ticket's id)."""
    if kind == COMMENTS:
        return Comment, [col(Comment.created_at), col(Comment.id)]
    return TicketChange, [col(TicketChange.id)]


def _key(kind: Kind, item: Any) -> Key:
    return Key.of_comment(item) if kind == COMMENTS else Key.of_change(item)


def _before(keys: list[Any], key: Key) -> ColumnElement[bool]:
    """Items before ``key`` in ascending order; written so an index range serves it."""
    if key.at is None:
        earlier: ColumnElement[bool] = keys[0] < int(key.id)
        return earlier
    moment, item = keys
    return and_(moment <= key.at, or_(moment < key.at, item < key.id))
