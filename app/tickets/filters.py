"""What a list of tickets shows, read from a query string and written back canonically.

A list is newest first, filtered by ``status`` and by search words ``q``,
and paged by keyset: ``cursor`` names the last row of the page before (the
list continues with older rows), ``until`` the last row of a *window* (the
rows from the top, or from ``cursor``, down to it: what a page already on
screen re-fetches, new rows included). A cursor is the row's
``(created_at, id)``, so pages stay stable while rows come and go, and no
query ever skips rows with OFFSET.

``canonical()`` is the cache key's query: only these parameters, normalised
(search words folded and sorted), in one order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.exceptions import HTTPException

from app import search
from app.models import Ticket, TicketStatus

WINDOW_SIZE = 50
# A window that grew past this (many new rows) is cut there. Its entry holds
# a tag per row and about a dozen more (its path tags, the membership and
# columns its query reads): 100 rows leave room under the cache's limit of
# 128 tags an entry (tests/test_odd_input.py fills a window with every
# filter on to check it).
MAX_WINDOW = 100
BAD_CURSOR = "This page link is not valid: start again from the list."


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: str

    @classmethod
    def of(cls, ticket: Ticket) -> Cursor:
        return cls(_utc(ticket.created_at), ticket.id)

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``encode`` wrote; anything else is a 400 (never a 500).

        A moment that has no UTC time a ``datetime`` can hold (year 9999 at
        -23:59, year 1 at +01:00) is an ``OverflowError``; an id is at most
        36 printable characters (a NUL is no text to PostgreSQL).
        """
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created_at, ticket_id = raw.split("|", 1)
            cursor = cls(_utc(datetime.fromisoformat(created_at)), ticket_id)
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise HTTPException(400, BAD_CURSOR) from None
        if not 0 < len(cursor.id) <= 36 or not cursor.id.isprintable():
            raise HTTPException(400, BAD_CURSOR)
        return cursor


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: TicketStatus | None = None
    words: tuple[str, ...] = ()  # search words, folded and sorted (search.query_words)
    cursor: Cursor | None = None  # older than this row
    until: Cursor | None = None  # down to this row, inclusive (a window)

    @classmethod
    def parse(cls, params: Mapping[str, str], *, windows: bool = False) -> ListQuery:
        """The list a query string asks for; a bad value is a 400 with a message.

        Parameters the list does not know are ignored; ``until`` only where
        ``windows`` (the list's live source) takes it.
        """
        status = parse_status(params)
        q = params.get("q", "")
        if len(q) > search.MAX_QUERY_CHARS:
            raise HTTPException(
                400, f"The search is at most {search.MAX_QUERY_CHARS} characters ({len(q)} given)."
            )
        cursor = Cursor.decode(params["cursor"]) if params.get("cursor") else None
        until = Cursor.decode(params["until"]) if windows and params.get("until") else None
        return cls(status, search.query_words(q), cursor, until)

    @property
    def q(self) -> str:
        return " ".join(self.words)

    @property
    def filtered(self) -> bool:
        return self.status is not None or bool(self.words)

    def canonical(self) -> str:
        """This list's query string, in one form per meaning (the cache key's)."""
        params = [
            ("cursor", self.cursor.encode() if self.cursor else ""),
            ("q", self.q),
            ("status", self.status.value if self.status else ""),
            ("until", self.until.encode() if self.until else ""),
        ]
        return urlencode([(name, value) for name, value in params if value])

    def first_window(self) -> ListQuery:
        """The same filter and search, from the top."""
        return replace(self, cursor=None, until=None)

    def matches(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` belongs in this list (filter and search; paging aside)."""
        if self.status is not None and ticket.status != self.status:
            return False
        indexed = search.words(ticket.title) + search.words(ticket.content)
        return all(any(word.startswith(asked) for word in indexed) for asked in self.words)


def parse_status(params: Mapping[str, str]) -> TicketStatus | None:
    """``?status=``, if any; an unknown value is a 400 with a message."""
    if not params.get("status"):
        return None
    try:
        return TicketStatus(params["status"])
    except ValueError:
        allowed = ", ".join(s.value for s in TicketStatus)
        raise HTTPException(400, f"Unknown status; use one of {allowed}.") from None


def _utc(moment: datetime) -> datetime:
    # SQLite hands back the naive UTC time that was stored; PostgreSQL an aware one.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
