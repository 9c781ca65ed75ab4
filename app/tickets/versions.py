"""Edits never overwrite each other: a save is read against the version its
form was made from.

The edit form carries the ticket's ``version`` as it was rendered. The value a
field had at version V is worked out from the history: the ``old`` of its
first change recorded after V, or, when none came after, its value now. So::

    version 3: title "A", status OPEN      <- Ann opens the form (version=3)
    version 4: status OPEN -> DONE          (Ben, from the list)
    Ann saves title "B", status OPEN (as her form still says), version=3

reads as: at 3 the title was "A" and the status OPEN; Ann changed the title
only, so only the title is saved, and Ben's status stays. Had Ben changed the
title too (to anything but "B"), Ann's save would be a ``Clash``: answered
409, changing nothing, with both values shown (app/tickets/conflicts.py).

A save without ``version`` (a list row's status select) sets what it posts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Ticket, TicketChange
from app.tickets.history import FIELDS, as_text

FIELD = "version"  # the edit form's hidden input
_DIGITS = re.compile(r"[0-9]{1,9}")
UNKNOWN_VERSION = (
    "This form was made from a version of the ticket that it never had: "
    "reload the ticket and make your changes again."
)


class VersionError(ValueError):
    """A ``version`` that is no version of this ticket (not a number, or later than now)."""


@dataclass(frozen=True, slots=True)
class Clash:
    """A field the person changed that someone else changed since, differently."""

    field: str
    theirs: str  # what the person posted, as the history keeps it
    current: str  # its value now, likewise


@dataclass(frozen=True, slots=True)
class Merge:
    """What a save from an older version does: set ``values`` (only what the
    person changed), unless there are ``clashes`` (then nothing)."""

    values: dict[str, object]
    clashes: list[Clash]
    version: int  # the ticket's version now: what a re-post is made from


def parse(posted: object, current: int) -> int:
    """The version a form was made from; a ``VersionError`` if it names none."""
    if not isinstance(posted, str) or not _DIGITS.fullmatch(posted.strip()):
        raise VersionError(UNKNOWN_VERSION)
    version = int(posted.strip())
    if not 1 <= version <= current:
        raise VersionError(UNKNOWN_VERSION)
    return version


def carried(posted: Mapping[str, object]) -> dict[str, str]:
    """The version a posted form carries, to carry again when it is shown with
    its messages (a later save is still read against it); nothing if it is none."""
    value = posted.get(FIELD)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return {FIELD: value.strip()}
    return {}


async def merge(
    session: AsyncSession, ticket: Ticket, values: Mapping[str, object], version: int
) -> Merge:
    """``values`` as posted from a form made at ``version``, read against the
    changes recorded since."""
    # Locked, and read again: a save that races ours waits, then sees our change.
    await session.refresh(ticket, with_for_update=True)
    since = await changes_after(session, ticket.id, version)
    at_version: dict[str, str] = {}
    for change in since:  # oldest first: the first change of a field holds its old value
        at_version.setdefault(change.kind, change.old or "")
    changed: dict[str, object] = {}
    clashes: list[Clash] = []
    for field, value in values.items():
        now = as_text(getattr(ticket, FIELDS[field]))
        then = at_version.get(field, now)
        if as_text(value) == then:
            continue  # not changed by this person: whatever it is now stays
        changed[field] = value
        if field in at_version and as_text(value) != now:
            clashes.append(Clash(field, as_text(value), now))
    return Merge(changed, clashes, ticket.version)


async def changes_after(session: AsyncSession, ticket_id: str, version: int) -> list[TicketChange]:
    """The changes of the edited fields recorded after ``version``, oldest first."""
    statement = (
        select(TicketChange)
        .where(col(TicketChange.ticket_id) == ticket_id)
        .where(col(TicketChange.version) > version)
        .where(col(TicketChange.kind).in_(list(FIELDS)))
        .order_by(col(TicketChange.version), col(TicketChange.id))
    )
    return list(await session.exec(statement))
