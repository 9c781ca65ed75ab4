"""What a list of tickets shows, read from a query string and written back canonically.

A list is in one ``sort`` (app/tickets/sorts.py: newest first by default),
filtered by ``status``, by ``assignee`` (a person's id, or ``none``) and by
search words ``q``, and paged by keyset: ``cursor`` names the last row of the
page before (the list continues after it), ``until`` the last row of a
*window* (the rows from the top, or from ``cursor``, down to it: what a page
already on screen re-fetches, new rows included). A cursor is the row's key
in the list's sort (``(created_at, id)``, ``(updated_at, id)`` or
``(comment_count, created_at, id)``), and says which sort it is of, so pages
stay stable while rows come and go, and no query ever skips rows with OFFSET.

``?assignee=me`` is no list of its own: it names whoever asks, so the page
reads it as the person's id (app/tickets/mine.py) and ``parse`` refuses it.

``canonical()`` is the cache key's query: only these parameters, normalised
(search words folded and sorted), in one order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

from starlette.exceptions import HTTPException

from app import search
from app.models import Ticket, TicketStatus, is_id
from app.tickets.sorts import Sort, moment_of, parse_sort, utc

WINDOW_SIZE = 50
# A window that grew past this (many new rows) is cut there. Its entry holds
# a tag per row and about a dozen more (its path tags, the membership and
# columns its query reads): 100 rows leave room under the cache's limit of
# 128 tags an entry (tests/test_odd_input.py fills a window with every
# filter on to check it).
MAX_WINDOW = 100
BAD_CURSOR = "This page link is not valid: start again from the list."
NOBODY = "none"  # ?assignee=none: tickets nobody is assigned to
ME = "me"
ASKS_FOR_ME = "?assignee=me names whoever is signed in: sign in, or use a person's id."
UNKNOWN_ASSIGNEE = "Unknown assignee; use me, none or a person's id."


@dataclass(frozen=True, slots=True)
class Cursor:
    """A row's key in a sort: ``at`` is its moment in that sort (its creation,
    or its last update under ``updated``), ``comments`` its count under
    ``comments``."""

    at: datetime
    id: str
    sort: Sort = Sort.CREATED
    comments: int = 0

    @classmethod
    def of(cls, ticket: Ticket, sort: Sort = Sort.CREATED) -> Cursor:
        comments = ticket.comment_count if sort is Sort.COMMENTS else 0
        return cls(moment_of(ticket, sort), ticket.id, sort, comments)

    def encode(self) -> str:
        """``at|id`` newest first (as before sorts were), else prefixed by the sort."""
        parts = [self.at.isoformat(), self.id]
        if self.sort is Sort.COMMENTS:
            parts.insert(0, str(self.comments))
        if self.sort is not Sort.CREATED:
            parts.insert(0, self.sort.value)
        raw = "|".join(parts).encode()
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
            parts = raw.split("|")
            sort = Sort(parts.pop(0)) if len(parts) > 2 else Sort.CREATED
            comments = int(parts.pop(0)) if sort is Sort.COMMENTS else 0
            at, ticket_id = parts
            cursor = cls(utc(datetime.fromisoformat(at)), ticket_id, sort, comments)
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise HTTPException(400, BAD_CURSOR) from None
        if not 0 < len(cursor.id) <= 36 or not cursor.id.isprintable():
            raise HTTPException(400, BAD_CURSOR)
        if not 0 <= cursor.comments < 2**31:  # the column's range
            raise HTTPException(400, BAD_CURSOR)
        return cursor


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: TicketStatus | None = None
    words: tuple[str, ...] = ()  # search words, folded and sorted (search.query_words)
    cursor: Cursor | None = None  # after this row
    until: Cursor | None = None  # down to this row, inclusive (a window)
    assignee: str | None = None  # a person's id, or NOBODY; None: anyone
    sort: Sort = Sort.CREATED

    @classmethod
    def parse(cls, params: Mapping[str, str], *, windows: bool = False) -> ListQuery:
        """The list a query string asks for; a bad value is a 400 with a message.

        Parameters the list does not know are ignored; ``until`` only where
        ``windows`` (the list's live source) takes it. Whether a person's id
        names a person is the view's to say (it reads the row).
        """
        status = parse_status(params)
        assignee = parse_assignee(params)
        sort = parse_sort(params)
        q = params.get("q", "")
        if len(q) > search.MAX_QUERY_CHARS:
            raise HTTPException(
                400, f"The search is at most {search.MAX_QUERY_CHARS} characters ({len(q)} given)."
            )
        cursor = Cursor.decode(params["cursor"]) if params.get("cursor") else None
        until = Cursor.decode(params["until"]) if windows and params.get("until") else None
        if any(given is not None and given.sort is not sort for given in (cursor, until)):
            raise HTTPException(400, BAD_CURSOR)  # a page link of another order
        return cls(status, search.query_words(q), cursor, until, assignee, sort)

    @property
    def q(self) -> str:
        return " ".join(self.words)

    @property
    def filtered(self) -> bool:
        return self.status is not None or self.assignee is not None or bool(self.words)

    def canonical(self) -> str:
        """This list's query string, in one form per meaning (the cache key's)."""
        params = [
            ("assignee", self.assignee or ""),
            ("cursor", self.cursor.encode() if self.cursor else ""),
            ("q", self.q),
            ("sort", "" if self.sort is Sort.CREATED else self.sort.value),
            ("status", self.status.value if self.status else ""),
            ("until", self.until.encode() if self.until else ""),
        ]
        return urlencode([(name, value) for name, value in params if value])

    def first_window(self) -> ListQuery:
        """The same filter and search, from the top."""
        return replace(self, cursor=None, until=None)

    def matches(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` belongs at the top of this list (filter, search and
        sort; paging aside): a new ticket, the newest, has no comments yet."""
        if self.status is not None and ticket.status != self.status:
            return False
        if self.assignee is not None and (ticket.assignee_id or NOBODY) != self.assignee:
            return False
        if self.sort is Sort.COMMENTS and ticket.comment_count == 0:
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


def parse_assignee(params: Mapping[str, str]) -> str | None:
    """``?assignee=``: ``none``, or a person's id (its form only; the view reads
    the row); ``me`` is the route's to resolve; anything else is a 400."""
    value = params.get("assignee", "")
    if not value:
        return None
    if value == ME:
        raise HTTPException(400, ASKS_FOR_ME)
    if value == NOBODY or is_id(value):
        return value
    raise HTTPException(400, UNKNOWN_ASSIGNEE)
