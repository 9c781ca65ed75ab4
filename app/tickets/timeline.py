"""A ticket's timeline: its latest changes, oldest first, each with who, when
and the values it replaced.

A live fragment of its own (``#ticket-history``, served alone at
``/fragments/tickets/<id>/history``): its render reads the ticket's changes
(a membership of ``ticket_change`` under that ticket's id, so a change to
another ticket never moves it) and the people they name, by their rows (a
rename moves the timelines that show the name, and only those). It reads no
ticket row: an edit moves it through the change it records.

The latest title and description edits can be reverted, by whoever made them
or an admin: a per-person hole beside each (app/holes.py), so the shared body
offers nobody a button they may not use.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from app import paths
from app.cache import fragment
from app.db import database
from app.models import TicketChange, TicketStatus, User
from app.templating import render
from app.tickets import history, queries

REVERTIBLE = ("title", "content")  # the fields whose edits can be reverted from the timeline
SHORT = 120  # characters of an old description shown before its disclosure
# The latest changes shown: each names its row and its person's, and a page
# names a few hundred rows at most (app/cache/tags.py).
SHOWN = 50


@dataclass(frozen=True, slots=True)
class Entry:
    """One change as the timeline says it."""

    change: TicketChange
    who: User | None  # None: made before accounts, or by someone since gone
    old: str  # the value it replaced, in words ("" for none)
    new: str
    revertible: bool  # the latest edit of a title or description

    @property
    def short_old(self) -> str:
        return self.old if len(self.old) <= SHORT else self.old[: SHORT - 1].rstrip() + "…"


async def ticket_timeline(request: Request, ticket_id: str) -> Markup:
    async def render_timeline() -> str:
        async with database(request).session() as session:
            changes = await changes_of(session, ticket_id)
            total = await count_changes(session, ticket_id) if len(changes) == SHOWN else SHOWN
            people = await queries.people(session, people_in(changes))
        return render(
            "tickets/_timeline.html",
            entries=entries(changes, people),
            total=total,
            ticket_id=ticket_id,
            source=paths.timeline_source_path(ticket_id),
        )

    return Markup(await fragment("ticket-timeline", render_timeline, ticket_id))


async def changes_of(session: AsyncSession, ticket_id: str) -> list[TicketChange]:
    """The latest ``SHOWN`` changes, oldest first."""
    statement = (
        select(TicketChange)
        .where(col(TicketChange.ticket_id) == ticket_id)
        .order_by(col(TicketChange.id).desc())
        .limit(SHOWN)
    )
    return list(reversed((await session.exec(statement)).all()))


async def count_changes(session: AsyncSession, ticket_id: str) -> int:
    statement = select(func.count()).where(col(TicketChange.ticket_id) == ticket_id)
    return (await session.exec(statement)).one()


def people_in(changes: list[TicketChange]) -> list[str | None]:
    """Who made each change, and whom each assignee change names."""
    named: list[str | None] = [change.actor_id for change in changes]
    for change in changes:
        if change.kind == "assignee":
            named += [change.old, change.new]
    return named


def entries(changes: list[TicketChange], people: dict[str, User]) -> list[Entry]:
    latest = {
        change.kind: change.id for change in changes if change.kind in REVERTIBLE
    }  # the last of each kind wins
    return [
        Entry(
            change,
            people.get(change.actor_id or ""),
            in_words(change.kind, change.old, people),
            in_words(change.kind, change.new, people),
            change.kind in REVERTIBLE and latest[change.kind] == change.id,
        )
        for change in changes
    ]


def in_words(kind: str, value: str | None, people: dict[str, User]) -> str:
    """A recorded value as people read it: a status's label, a person's name."""
    if not value:
        return ""
    if kind == "status":
        try:
            return TicketStatus(value).label
        except ValueError:
            return value
    if kind == "assignee":
        person = people.get(value)
        return person.name if person else "someone no longer here"
    if kind in history.FIELDS:
        return value
    return ""  # a comment's id, say: the timeline names no comment
