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
DELETE_HOLES = "/holes/tickets/"  # every hole the edge decides (a ticket's Delete first)
PLACES = ("row", "page")  # where a Delete hole is: in a list row, on the ticket's page
NO_AUTHOR = "none"  # the owner segment of a hole nobody owns (a ticket nobody wrote)

# The holes the edge decides: each is for one person and admins, and its src
# ends with that person (a ticket's or a comment's author, a change's maker,
# someone who may edit), which is all the edge reads (``may_delete``). What
# comes before says what the hole holds, by kind:
_ID = "[0-9a-f-]{36}"
_OWNED_HOLES = {
    "delete": rf"(?P<ticket>{_ID})/delete/(?P<place>{'|'.join(PLACES)})",  # a ticket's Delete
    "comment": rf"(?P<ticket>{_ID})/comments/(?P<comment>{_ID})",  # a comment's Edit, Delete
    "revert": rf"(?P<ticket>{_ID})/changes/(?P<change>[0-9]{{1,9}})/revert",  # an edit's Revert
    "editor": "editor",  # a mark that shows a ticket's edit controls
}
_OWNED = {
    kind: re.compile(rf"{DELETE_HOLES}{what}/(?P<owner>{_ID}|{NO_AUTHOR})")
    for kind, what in _OWNED_HOLES.items()
}


@dataclass(frozen=True, slots=True)
class OwnedHole:
    """What the src of a hole the edge decides says: its kind, the ids it names
    (``ticket``, ``place``, ``comment``, ``change``: as its kind has them), and
    the one person it is for besides admins (None: nobody)."""

    kind: str
    owner_id: str | None
    names: dict[str, str]


def account_hole_path() -> str:
    """The hole of who is signed in (app/holes.py)."""
    return ACCOUNT_HOLE


def _owned(what: str, owner_id: str | None) -> str:
    return f"{DELETE_HOLES}{what}/{owner_id or NO_AUTHOR}"


def delete_hole_path(ticket_id: str, place: str, author_id: str | None) -> str:
    """The hole of a ticket's Delete, in a list ``row`` or on its ``page`` (app/holes.py)."""
    return _owned(f"{ticket_id}/delete/{place}", author_id)


def comment_hole_path(ticket_id: str, comment_id: str, author_id: str | None) -> str:
    """The hole of a comment's Edit and Delete, for its author and admins (app/holes.py)."""
    return _owned(f"{ticket_id}/comments/{comment_id}", author_id)


def revert_hole_path(ticket_id: str, change_id: int, actor_id: str | None) -> str:
    """The hole of a timeline entry's Revert (app/holes.py, app/tickets/timeline.py)."""
    return _owned(f"{ticket_id}/changes/{change_id}/revert", actor_id)


def editor_hole_path(person_id: str | None) -> str:
    """A mark that shows a ticket's edit controls to ``person_id`` (its author or
    its assignee) and to admins (app/holes.py). A ticket holds one per person
    who may edit it, so the edge decides each as a Delete (the last segment,
    or an admin): together they say what ``may_edit`` says."""
    return _owned("editor", person_id)


def parse_owned_hole(src: str) -> OwnedHole | None:
    """The hole the edge decides that ``src`` names; None: it names none."""
    for kind, pattern in _OWNED.items():
        found = pattern.fullmatch(src)
        if found is not None:
            names = found.groupdict()
            owner = names.pop("owner")
            return OwnedHole(kind, None if owner == NO_AUTHOR else owner, names)
    return None


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
