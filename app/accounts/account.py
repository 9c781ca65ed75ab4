"""A person's own page: their name, which they can change (``GET``/``POST /account``).

Not cached (it is one person's), and signed in only: a visitor is sent to
sign in first, then back here. A rename writes the person's row and nothing
else: every entry that shows the name read that row (names are never copied
into tickets), so exactly those entries move, the session's among them
(the header's "Signed in as"), and this process forgets whom the person's
tokens named (app/accounts/viewer.py). The answer: with htmx, the form in
place, the header's account part swapped too (out of band), and a notice;
without, ``303`` back here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app import paths
from app.accounts.permissions import signed_in
from app.accounts.viewer import Viewer, viewer_of
from app.db import database
from app.forms import CONTROL, Form
from app.htmx import HtmxDetails, hx_no_history, wants_partial
from app.models import NAME_MAX, User
from app.notices import notify, quoted
from app.templating import render, render_page

BAD_NAME = f"A name is 1 to {NAME_MAX} characters, with no control characters."


class NameForm(Form):
    """The one field of the account page."""


def validate(posted: Mapping[str, Any]) -> NameForm:
    name = str(posted.get("name", ""))
    form = NameForm(data={"name": name})
    clean = name.strip()
    if not clean or len(clean) > NAME_MAX or CONTROL.search(name):
        form.errors["name"] = BAD_NAME
    else:
        form.values["name"] = clean
    return form


async def account_page(request: Request) -> Response:
    viewer = await viewer_of(request.scope)
    if viewer is None:
        query = urlencode({"next": paths.account_path()})
        return RedirectResponse(f"{paths.login_path()}?{query}", status_code=303)
    return _page(request, NameForm(data={"name": viewer.name}))


async def rename(request: Request) -> Response:
    """Validate, write the person's row, answer."""
    viewer = await signed_in(request)
    form = validate(await request.form())
    if not form.is_valid:
        if HtmxDetails(request):
            return hx_no_history(HTMLResponse(_form(form), 422))
        return _page(request, form, 422)
    name = form.values["name"]
    async with database(request).transaction() as session:
        person = await session.get(User, viewer.id)
        assert person is not None  # a live session's person (sessions go with their people)
        if person.name != name:
            person.name = name
            session.add(person)
    said = f"Your name is now {quoted(name)}."
    if not HtmxDetails(request):
        return RedirectResponse(paths.account_path(), status_code=303)
    renamed = replace(viewer, name=name)
    body = _form(NameForm(data={"name": name}), saved=True) + _account_bar(renamed)
    return notify(HTMLResponse(body), said)


def _page(request: Request, form: NameForm, status: int = 200) -> HTMLResponse:
    body = render_page("accounts/account.html", partial=wants_partial(request), form=form)
    return HTMLResponse(body, status)


def _form(form: NameForm, *, saved: bool = False) -> str:
    """The form alone; once saved, focus goes back to its field (it was replaced)."""
    return render("accounts/_name_form.html", form=form, focus="name" if saved else None)


def _account_bar(viewer: Viewer) -> str:
    """The header's account part with the new name, swapped in out of band."""
    return render("holes/account.html", viewer=viewer, oob=True)


routes = [
    Route(paths.account_path(), account_page, methods=["GET"], name="account"),
    Route(paths.account_path(), rename, methods=["POST"], name="account_rename"),
]
