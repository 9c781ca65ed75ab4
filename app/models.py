"""The data: tickets, and the people who write them."""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import Index, Text, event, inspect
from sqlmodel import Field, SQLModel

from app.deps.schema import KEPT_BY, MEMBERSHIP, UNTRACKED
from app.search import search_text

TITLE_MAX = 191
CONTENT_MAX = 1024
NAME_MAX = 80
EMAIL_MAX = 254
COMMENT_MAX = 10_000
ID_MAX = 36

# A column lists filter by that is no foreign key (app/deps/schema.py).
LISTED_BY = {"info": {MEMBERSHIP: True}}


# What the app makes every id of (uuid4, lowercase): any other string names
# nothing, and is refused before a query sees it (PostgreSQL rejects a NUL).
ID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ID = re.compile(ID_PATTERN)


def is_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


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
    # them without sorting, filtered by status or by assignee or not, and
    # sorted by last update or by comments.
    __table_args__ = (
        Index("ix_ticket_newest", "created_at", "id"),
        Index("ix_ticket_status_newest", "status", "created_at", "id"),
        Index("ix_ticket_assignee_newest", "assignee_id", "created_at", "id"),
        Index("ix_ticket_updated", "updated_at", "id"),
        Index("ix_ticket_comments", "comment_count", "created_at", "id"),
        Index("ix_ticket_number", "number", unique=True),
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    title: str = Field(max_length=TITLE_MAX)
    content: str = Field(max_length=CONTENT_MAX)
    status: TicketStatus = Field(default=TicketStatus.OPEN)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Who opened it (None: before accounts existed), and who is on it (None:
    # nobody). Names are read from their people's rows, never copied here, so
    # that a rename shows everywhere at once (migration 0011).
    author_id: str | None = Field(default=None, max_length=ID_MAX)
    assignee_id: str | None = Field(default=None, max_length=ID_MAX, sa_column_kwargs=LISTED_BY)
    # Moved by each change of a field a person edits (title, content, status,
    # assignee): what an edit form was made from (app/tickets/history.py).
    version: int = Field(default=1)
    # Kept in step by the comment's own transaction: a row shows it, a sort reads it.
    comment_count: int = Field(default=0)
    # The short number people say and type (#123), given in order at creation
    # (app/tickets/numbers.py; None: made straight in the database). The id
    # stays the ticket's name in URLs and element ids; /tickets/123 redirects.
    number: int | None = Field(default=None)
    # The words of title and content, folded (app/search.py): what the
    # search index is built from. Kept in step on every ORM write, below.
    search_text: str = Field(default="")


class TicketCount(SQLModel, table=True):
    """How many tickets have a status: kept by triggers on ticket (migration 0003)."""

    __tablename__ = "ticket_count"
    # Its rows are named by ticket.status: a write that moves a status's
    # membership moves that count (app/deps).
    __table_args__ = {"info": {KEPT_BY: ("ticket", "status")}}

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
    author_id: str | None = Field(default=None, max_length=ID_MAX)
    assignee_id: str | None = Field(default=None, max_length=ID_MAX)
    version: int = Field(default=1)
    comment_count: int = Field(default=0)
    number: int | None = Field(default=None)
    deleted_at: datetime = Field(default_factory=utcnow, index=True)


class Comment(SQLModel, table=True):
    """What a person said on a ticket: Markdown, rendered on read (app/rich_text.py).

    No foreign key to the ticket: a deleted ticket's comments stay, so that
    an undo brings them back with it.
    """

    __table_args__ = (Index("ix_comment_ticket", "ticket_id", "created_at", "id"),)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    ticket_id: str = Field(max_length=ID_MAX, sa_column_kwargs=LISTED_BY)
    author_id: str | None = Field(default=None, max_length=ID_MAX)
    body: str = Field(sa_type=Text)  # at most COMMENT_MAX characters
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DeletedComment(SQLModel, table=True):
    """A deleted comment, kept for a while so that its delete can be undone
    (app/tickets/comment_undo.py), as ``DeletedTicket`` keeps a ticket."""

    __tablename__ = "deleted_comment"
    __table_args__ = {"info": {UNTRACKED: True}}  # no render reads it (app/deps)

    id: str = Field(primary_key=True, max_length=36)
    ticket_id: str = Field(max_length=ID_MAX)
    author_id: str | None = Field(default=None, max_length=ID_MAX)
    body: str = Field(sa_type=Text)
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime = Field(default_factory=utcnow, index=True)


class TicketChange(SQLModel, table=True):
    """One change to a ticket, who made it and when: its history
    (app/tickets/history.py says what each ``kind`` holds)."""

    __tablename__ = "ticket_change"
    __table_args__ = (Index("ix_ticket_change_ticket", "ticket_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(max_length=ID_MAX, sa_column_kwargs=LISTED_BY)
    version: int  # the ticket's version once the change was made
    kind: str = Field(max_length=20)
    actor_id: str | None = Field(default=None, max_length=ID_MAX)
    old: str | None = Field(default=None, sa_type=Text)
    new: str | None = Field(default=None, sa_type=Text)
    at: datetime = Field(default_factory=utcnow)


class TicketNumber(SQLModel, table=True):
    """The last short number given to a ticket: one row, which each create moves
    (its row lock orders concurrent creates, on PostgreSQL as on SQLite)."""

    __tablename__ = "ticket_number"
    __table_args__ = {"info": {UNTRACKED: True}}  # no render reads it (app/deps)

    id: int = Field(default=1, primary_key=True)
    last: int = 0


class InvalidationOutbox(SQLModel, table=True):
    """The invalidations of a committed write that no process has applied yet
    (app/outbox.py): written in the write's own transaction."""

    __tablename__ = "invalidation_outbox"
    __table_args__ = {"info": {UNTRACKED: True}}  # no render reads it (app/deps)

    id: int | None = Field(default=None, primary_key=True)
    queued: str  # JSON: [[tag, soft], ...] (Commit.to_text)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class User(SQLModel, table=True):
    """A person with an account. The first account made is the admin."""

    __tablename__ = "app_user"  # "user" is a reserved word in PostgreSQL

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    name: str = Field(max_length=NAME_MAX)
    email: str = Field(max_length=EMAIL_MAX, unique=True)  # stored lowercased
    password_hash: str = Field(max_length=255)  # Argon2id, never the password
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class FirstAccount(SQLModel, table=True):
    """The one row that says which account was made first, hence is the admin.

    Its primary key is the choice: the sign-up whose insert of ``id=1``
    succeeds is the first (app/accounts/people.py), however sign-ups race.
    """

    __tablename__ = "first_account"
    __table_args__ = {"info": {UNTRACKED: True}}  # no render reads it (app/deps)

    id: int = Field(default=1, primary_key=True)
    user_id: str = Field(max_length=36)


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its digest is
    stored, so a copy of the table signs nobody in; signing out deletes the row."""

    __tablename__ = "user_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's token
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class LoginFailure(SQLModel, table=True):
    """A try that costs a hash, by what it counts against (``address:<address>``,
    ``account:<email> address:<address>``, ``signup:<address>``): what
    throttles the next tries (app/accounts/throttle.py). A login that succeeds
    deletes its own."""

    __tablename__ = "login_failure"
    __table_args__ = {"info": {UNTRACKED: True}}  # no render reads it (app/deps)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=320, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)


@event.listens_for(Ticket, "before_insert")
def _index_words(_mapper: object, _connection: object, ticket: Ticket) -> None:
    ticket.search_text = search_text(ticket.title, ticket.content)


@event.listens_for(Ticket, "before_update")
def _reindex_words(_mapper: object, _connection: object, ticket: Ticket) -> None:
    # Only when the words changed: folding them again cost every status change
    # (the most common write) about 0.1 ms at 100,000 tickets (cProfile).
    state = inspect(ticket)
    if state.attrs.title.history.has_changes() or state.attrs.content.history.has_changes():
        _index_words(_mapper, _connection, ticket)
