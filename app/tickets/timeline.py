"""A ticket's timeline: its latest changes, oldest first, each with who, when
and the values it replaced.

A live fragment of its own (``#ticket-history``, served alone at
``/fragments/tickets/<id>/history``, in the section that holds its heading
and the earlier changes "Show earlier changes" loads above it, a page at a
time: app/tickets/earlier.py): its render reads the ticket's changes
(a membership of ``ticket_change`` under that ticket's id, so a change to
another ticket never moves it) and the people they name, by their rows (a
rename moves the timelines that show the name, and only those). It reads no
ticket row: an edit moves it through the change it records.

The latest title and description edits can be reverted, by whoever made them
or an admin: a per-person hole beside each (app/holes.py), so the shared body
offers nobody a button they may not use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from app import ids, paths
from app.cache import fragment
from app.db import database
from app.models import TicketChange, TicketStatus, User
from app.templating import render
from app.tickets import earlier, history, queries

REVERTIBLE = ("title", "content")  # the fields whose edits can be reverted from the timeline
SHORT = 120  # characters of an old description shown before its disclosure
# The latest changes shown: each names its row and its person's, and a page
# names a few hundred rows at most (app/cache/tags.py).
SHOWN = 50
NOT_FOUND = "No ticket has this id; it may have been deleted."


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


async def ticket_timeline(
    request: Request, ticket_id: str, stretch: earlier.Stretch | None = None
) -> Markup:
    """The history section with its latest part (``#ticket-history``, live), or,
    for a ``stretch`` with ``before``, a page of earlier changes alone."""
    stretch = stretch or earlier.Stretch(earlier.CHANGES, ticket_id)

    async def render_timeline() -> str:
        async with database(request).session() as session:
            found = await earlier.read(session, stretch, SHOWN)
            changes: list[TicketChange] = found.items
            total = len(changes)
            if found.more and not stretch.earlier:
                total = await count_changes(session, ticket_id)
            latest = await latest_edits(session, ticket_id, changes) if stretch.earlier else None
            people = await queries.people(session, people_in(changes))
        before = replace(stretch, before=found.oldest, since=None) if found.more else None
        return render(
            "tickets/_timeline.html",
            entries=entries(changes, people, latest),
            total=total,
            ticket_id=ticket_id,
            earlier=stretch.earlier,
            element_id=stretch.element_id(ids.TIMELINE),
            source=paths.timeline_source_path(ticket_id, found.anchored(stretch).canonical()),
            earlier_query=before.canonical() if before else None,
        )

    key = stretch.canonical()
    return Markup(await fragment("ticket-timeline", render_timeline, ticket_id, key))


async def latest_edits(
    session: AsyncSession, ticket_id: str, changes: list[TicketChange]
) -> dict[str, int]:
    """The latest change of each revertible kind among ``changes``, of the whole
    ticket: only that one can be reverted, wherever it is shown."""
    kinds = sorted({change.kind for change in changes if change.kind in REVERTIBLE})
    if not kinds:
        return {}
    statement = (
        select(col(TicketChange.kind), func.max(col(TicketChange.id)))
        .where(col(TicketChange.ticket_id) == ticket_id)
        .where(col(TicketChange.kind).in_(kinds))
        .group_by(col(TicketChange.kind))
    )
    return {kind: latest or 0 for kind, latest in await session.exec(statement)}


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


def entries(
    changes: list[TicketChange], people: dict[str, User], latest: dict[str, int] | None = None
) -> list[Entry]:
    """``latest``: the latest change of each revertible kind, when ``changes`` may
    not hold it (earlier ones); else the last of each kind among them wins."""
    if latest is None:
        latest = {c.kind: c.id or 0 for c in changes if c.kind in REVERTIBLE}
    return [
        Entry(
            change,
            people.get(change.actor_id or ""),
            in_words(change.kind, change.old, people),
            in_words(change.kind, change.new, people),
            change.kind in REVERTIBLE and latest.get(change.kind) == change.id,
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
