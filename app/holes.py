"""The app's holes: the per-person parts of its shared pages, and what each holds.

Marked in templates with ``{{ hole(src) }}`` (an ESI include: app/cache/holes.py
says how a hole is answered). Each ``src`` is also a route, ``GET /holes/...``,
that answers the hole for whoever asks, so an edge cache can fill it itself.

- ``account_hole_path()``: the top bar's account part: who is signed in and Sign
  out; Sign in and Sign up for a visitor. It also tells the page's style sheet
  which it is (``data-account``), so the controls only people can use (a
  status select, the forms to create and edit) are shown to people only.
- ``revert_hole_path(ticket id, change id, actor id)``: a timeline entry's
  Revert, for whoever made the change and for admins: decided as a Delete is.
- ``editor_hole_path(person id)``: a mark, for that person and admins, that
  shows a ticket's edit controls (the row's status select, the page's Edit)
  through the style sheet; a ticket holds one for its author and one for
  its assignee, so together they say who may edit it.
- ``delete_hole_path(ticket id, place, author id)``: the ticket's Delete
  (``place``: in a list ``row``, or on its ``page``), for its author and for
  admins; nothing for anyone else. The src carries what the decision needs
  from the shared data (the author), so filling it reads no database.
- ``comment_hole_path(ticket id, comment id, author id)``: a comment's Edit
  and Delete, for its author and for admins, decided as a Delete hole is.

An edge cache fills a person's Delete holes without asking us for each: it
decides who may delete from the ``viewer`` cookie and asks for ``?may=1`` or
``?may=0``, two answers the same for everyone, which it keeps. A 100-row list
is then one request to us per view (the account hole), not 101. The URLs, the
cookie and ``may=`` are the edge contract's (app/edge_contract.py).

Whatever a hole shows, the server still checks every write (app/accounts/permissions.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import edge_contract
from app.accounts import sessions
from app.accounts.viewer import Viewer, viewer_of
from app.cache import Holes, Visitor
from app.cache.edge import xkey_header
from app.templating import render

_SHARED = xkey_header(frozenset({edge_contract.SHARED_HOLES_KEY}))


@dataclass(frozen=True, slots=True)
class _OwnedHole:
    """A hole for one person and admins only (``edge_contract.OwnedHole``): the
    very rule of a Delete, which the edge decides the same way."""

    owner_id: str | None
    form: bytes  # the same for everyone who may use it

    @property
    def audience(self) -> str:
        """Its author and admins get the form, everyone else nothing (``Viewer.audiences``)."""
        return edge_contract.NO_AUTHOR if self.owner_id is None else self.owner_id

    def content(self, viewer: Viewer | None) -> bytes:
        return self.form if viewer is not None and viewer.may_delete(self.owner_id) else b""


@dataclass(frozen=True, slots=True)
class _AccountHole:
    audience = None  # personal: it names whoever is signed in

    def content(self, viewer: Viewer | None) -> bytes:
        return _account(viewer)


# What each kind of owned hole holds, from the ids its src names.
_FORMS: dict[str, Callable[[dict[str, str]], str]] = {
    "delete": lambda names: render(
        f"holes/delete_{names['place']}.html", ticket_id=names["ticket"]
    ),
    "comment": lambda names: render(
        "holes/comment_actions.html", ticket_id=names["ticket"], comment_id=names["comment"]
    ),
    "revert": lambda names: render(
        "holes/revert.html", ticket_id=names["ticket"], change_id=names["change"]
    ),
    "editor": lambda names: render("holes/editor.html"),
}


@functools.lru_cache(maxsize=16384)  # a hole's src is parsed once, whatever page holds it
def _parse(src: str) -> _OwnedHole | _AccountHole | None:
    if src == edge_contract.ACCOUNT_HOLE:
        return _AccountHole()
    owned = edge_contract.parse_owned_hole(src)
    if owned is None:
        return None
    return _OwnedHole(owned.owner_id, _FORMS[owned.kind](owned.names).encode())


def _account(viewer: Viewer | None) -> bytes:
    return _account_of(None) if viewer is None else _account_of(viewer.name, viewer.is_admin)


@functools.lru_cache(maxsize=4096)  # by what it shows: a str and a bool hash fast
def _account_of(name: str | None, is_admin: bool = False) -> bytes:
    viewer = None if name is None else _Shown(name, is_admin)
    return render("holes/account.html", viewer=viewer).encode()


@dataclass(frozen=True, slots=True)
class _Shown:
    """What the account hole shows of a person (templates/holes/account.html)."""

    name: str
    is_admin: bool


def fill(src: str, visitor: Visitor | None) -> bytes:
    """What the hole ``src`` holds for ``visitor`` (None: nobody signed in)."""
    assert visitor is None or isinstance(visitor, Viewer)
    found = _parse(src)
    return b"" if found is None else found.content(visitor)


def audience(src: str) -> str | None:
    """Whom the hole ``src`` is for (``Holes.audience``): a Delete-like hole's
    author (admins are in every audience); None for the account hole, which
    is personal. A src that is no hole is empty for all: nobody's audience."""
    found = _parse(src)
    return edge_contract.NO_AUTHOR if found is None else found.audience


def app_holes() -> Holes:
    """The holes of this app, for ``Cache(holes=...)``."""
    return Holes(visitor_of=viewer_of, fill=fill, audience=audience, cookies=(sessions.COOKIE,))


async def hole_route(request: Request) -> Response:
    """One hole, answered alone for whoever asks (what an edge cache fetches)."""
    src = request.url.path
    found = _parse(src)
    if found is None:
        raise HTTPException(404, "No such hole.")
    asked = request.query_params.get(edge_contract.MAY)
    if isinstance(found, _OwnedHole) and asked is not None:
        may = edge_contract.read_may(asked)
        if may is None:
            raise HTTPException(400, "may is 1 or 0.")
        # The edge decided: the same answer for everyone it is for, kept there.
        return _hole_answer(found.form if may else b"", shared=True)
    viewer = await viewer_of(request.scope)
    # Nobody's fill is the same for every visitor: an edge may keep it.
    answer = _hole_answer(fill(src, viewer), shared=viewer is None)
    answer.headers["Vary"] = "Cookie"
    return answer


def _hole_answer(body: bytes, *, shared: bool) -> Response:
    answer = Response(body, media_type="text/html; charset=utf-8")
    answer.headers["Cache-Control"] = "no-cache" if shared else "private, no-cache"
    if shared:  # kept at the edge until a process of a new build starts (it purges all)
        answer.raw_headers.append(_SHARED)
    return answer


routes = [Route(edge_contract.HOLES + "{rest:path}", hole_route, methods=["GET"], name="hole")]
