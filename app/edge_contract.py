"""What the app and its edge cache (edge/tickets.vcl, started by scripts/edge)
agree on, named once: the VCL hard-codes each of these, and
``tests/test_edge_contract.py`` reads it back to check it says the same.

- **Hole URLs.** Each hole's src is also a route of the app (app/holes.py).
  The edge treats two kinds apart: the account hole, asked of the app per
  person, and the Delete holes (``DELETE_HOLES``), which it decides itself.
- **Who may delete, at the edge.** A person's page holds a Delete hole per
  ticket; asking the app for each would make a 100-row list 101 requests. So
  the ``viewer`` cookie says who the person is (``ADMIN``, or their id), a
  Delete hole's src ends with its ticket's author, and the edge applies
  ``may_delete`` to the two. It then asks for the hole with ``may=1`` or
  ``may=0``: two answers, each the same for everyone, which it keeps. The
  cookie is no secret and proves nothing: it only picks which shared answer
  to show, and the app checks every write against the session. A comment's
  Edit and Delete (``comment_hole_path``) are decided the same way, by the
  comment's author: its src is under ``DELETE_HOLES`` and ends with them.
- **The keys a hole is kept by.** A hole answer that is the same for everyone
  is kept at the edge under ``SHARED_HOLES_KEY``; a process of a new build
  purges everything when it starts, which is when a hole's form may change.
- **The edge's mark.** The edge sends ``EDGE_SECRET_HEADER`` with every
  request it makes of the app, holding the secret scripts/run gave both
  (``EDGE_SECRET``): how the app tells its edge from any other local client
  before it believes an ``X-Forwarded-For`` (app/clients.py).
- **The object split.** The edge keeps each page apart per kind of asker
  (``ANONYMOUS``: no session cookie; ``PERSON``: with its holes as ESI
  includes) and per encoding; the inspector probes each (``EDGE_OBJECTS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# -- cookies ---------------------------------------------------------------------------

SESSION_COOKIE = "session"  # its presence makes a request a person's
VIEWER_COOKIE = "viewer"  # who the person is, for the edge's Delete holes
ADMIN = "admin"  # the viewer cookie of an admin (others': their id)


def viewer_cookie(person_id: str, *, is_admin: bool) -> str:
    """The ``viewer`` cookie's value for a person."""
    return ADMIN if is_admin else person_id


def may_delete(viewer: str, author_id: str | None) -> bool:
    """Whether the person whose ``viewer`` cookie this is may delete a ticket
    by ``author_id``: an admin may delete any ticket, others those they wrote."""
    return viewer == ADMIN or (author_id is not None and viewer == author_id)


# -- the edge's mark ------------------------------------------------------------------

EDGE_SECRET_HEADER = "x-edge-secret"  # on every request the edge sends the app

# -- hole URLs -------------------------------------------------------------------------

HOLES = "/holes/"  # every hole's src starts so
ACCOUNT_HOLE = "/holes/account"  # who is signed in: asked of the app per person
DELETE_HOLES = "/holes/tickets/"  # a ticket's Delete: decided by the edge
PLACES = ("row", "page")  # where a Delete hole is: in a list row, on the ticket's page
NO_AUTHOR = "none"  # the author segment of a ticket nobody wrote
_DELETE_HOLE = re.compile(
    rf"{DELETE_HOLES}(?P<ticket>[0-9a-f-]{{36}})/delete/(?P<place>{'|'.join(PLACES)})"
    rf"/(?P<author>[0-9a-f-]{{36}}|{NO_AUTHOR})"
)


@dataclass(frozen=True, slots=True)
class DeleteHole:
    """What a Delete hole's src says: the edge reads the author as its last segment."""

    ticket_id: str
    place: str
    author_id: str | None


def account_hole_path() -> str:
    """The hole of who is signed in (app/holes.py)."""
    return ACCOUNT_HOLE


def delete_hole_path(ticket_id: str, place: str, author_id: str | None) -> str:
    """The hole of a ticket's Delete, in a list ``row`` or on its ``page`` (app/holes.py)."""
    return f"{DELETE_HOLES}{ticket_id}/delete/{place}/{author_id or NO_AUTHOR}"


def parse_delete_hole(src: str) -> DeleteHole | None:
    """The Delete hole ``src`` names; None: it names none."""
    found = _DELETE_HOLE.fullmatch(src)
    if found is None:
        return None
    ticket_id, place, author = found.group("ticket", "place", "author")
    return DeleteHole(ticket_id, place, None if author == NO_AUTHOR else author)


_REVERT_HOLE = re.compile(
    rf"{DELETE_HOLES}(?P<ticket>[0-9a-f-]{{36}})/changes/(?P<change>[0-9]{{1,9}})/revert"
    rf"/(?P<actor>[0-9a-f-]{{36}}|{NO_AUTHOR})"
)
_COMMENT_HOLE = re.compile(
    rf"{DELETE_HOLES}(?P<ticket>[0-9a-f-]{{36}})/comments/(?P<comment>[0-9a-f-]{{36}})"
    rf"/(?P<author>[0-9a-f-]{{36}}|{NO_AUTHOR})"
)


@dataclass(frozen=True, slots=True)
class RevertHole:
    """What a Revert hole's src says: the edge reads the change's actor as its
    last segment and decides as for a Delete (the actor, or an admin)."""

    ticket_id: str
    change_id: int
    actor_id: str | None


def revert_hole_path(ticket_id: str, change_id: int, actor_id: str | None) -> str:
    """The hole of a timeline entry's Revert (app/holes.py, app/tickets/timeline.py)."""
    return f"{DELETE_HOLES}{ticket_id}/changes/{change_id}/revert/{actor_id or NO_AUTHOR}"


def parse_revert_hole(src: str) -> RevertHole | None:
    """The Revert hole ``src`` names; None: it names none."""
    found = _REVERT_HOLE.fullmatch(src)
    if found is None:
        return None
    ticket_id, change, actor = found.group("ticket", "change", "actor")
    return RevertHole(ticket_id, int(change), None if actor == NO_AUTHOR else actor)


_EDITOR_HOLE = re.compile(rf"{DELETE_HOLES}editor/(?P<person>[0-9a-f-]{{36}}|{NO_AUTHOR})")


def editor_hole_path(person_id: str | None) -> str:
    """A mark that shows a ticket's edit controls to ``person_id`` (its author or
    its assignee) and to admins (app/holes.py). A ticket holds one per person
    who may edit it, so the edge decides each as a Delete (the last segment,
    or an admin): together they say what ``may_edit`` says."""
    return f"{DELETE_HOLES}editor/{person_id or NO_AUTHOR}"


def parse_editor_hole(src: str) -> str | None:
    """The person an editor hole ``src`` names (``NO_AUTHOR`` for nobody); None: none."""
    found = _EDITOR_HOLE.fullmatch(src)
    return None if found is None else found.group("person")


@dataclass(frozen=True, slots=True)
class CommentHole:
    """What a comment's hole says (its Edit and Delete): decided by its author, as a
    ticket's Delete is, so the edge reads the author as its last segment too."""

    ticket_id: str
    comment_id: str
    author_id: str | None


def comment_hole_path(ticket_id: str, comment_id: str, author_id: str | None) -> str:
    """The hole of a comment's Edit and Delete, for its author and admins (app/holes.py)."""
    return f"{DELETE_HOLES}{ticket_id}/comments/{comment_id}/{author_id or NO_AUTHOR}"


def parse_comment_hole(src: str) -> CommentHole | None:
    """The comment hole ``src`` names; None: it names none."""
    found = _COMMENT_HOLE.fullmatch(src)
    if found is None:
        return None
    ticket_id, comment_id, author = found.group("ticket", "comment", "author")
    return CommentHole(ticket_id, comment_id, None if author == NO_AUTHOR else author)


# -- the may= protocol -----------------------------------------------------------------

MAY = "may"  # the query parameter the edge adds to a Delete hole's src


def may_query(may: bool) -> str:
    """The query string of a Delete hole the edge has decided."""
    return f"{MAY}={int(may)}"


def read_may(value: str) -> bool | None:
    """The edge's decision in ``may``'s ``value``; None: not one it makes."""
    return {"1": True, "0": False}.get(value)


# -- what the edge keeps ---------------------------------------------------------------

SHARED_HOLES_KEY = "holes"  # the xkey of a hole answer that is the same for everyone
ANONYMOUS = "anonymous"  # a page as anyone without a session gets it, holes filled
PERSON = "person"  # a page with its holes as ESI includes, filled per request
ASKERS = (ANONYMOUS, PERSON)
ENCODINGS = ("br", "gzip", None)  # what the edge asks the app for (None: uncompressed)
EDGE_OBJECTS = [(who, encoding) for who in ASKERS for encoding in ENCODINGS]
