"""Validation of the ticket fields a form posts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.forms import CONTROL, CONTROL_BUT_LINES, Form
from app.models import CONTENT_MAX, TITLE_MAX, TicketStatus

FIELDS = ("title", "content", "status", "assignee")
# What the form's labels call each field, so that a message uses the same word.
LABELS = {"title": "title", "content": "description", "status": "status", "assignee": "assignee"}


class TicketForm(Form):
    """A ticket's fields: title, content (labelled Description), status."""


def validate(posted: Mapping[str, Any], *, partial: bool) -> TicketForm:
    """Check the posted fields; with ``partial``, absent fields are left alone.

    A create needs a title and content; an update takes any of the four.
    The assignee is passed on as posted (stripped): who it names is
    app/tickets/assignees.py's to say, in the write's transaction.
    """
    data = {name: str(posted[name]) for name in FIELDS if isinstance(posted.get(name), str)}
    form = TicketForm(data=data)
    for name, limit in (("title", TITLE_MAX), ("content", CONTENT_MAX)):
        if name not in data and partial:
            continue
        value = data.get(name, "").strip()
        label = LABELS[name]
        control = CONTROL if name == "title" else CONTROL_BUT_LINES
        if not value:
            form.errors[name] = f"Enter a {label}."
        elif control.search(value):
            form.errors[name] = f"The {label} holds a control character; remove it."
        elif len(value) > limit:
            form.errors[name] = f"The {label} is at most {limit} characters ({len(value)} given)."
        else:
            form.values[name] = value
    if "status" in data:
        try:
            form.values["status"] = TicketStatus(data["status"])
        except ValueError:
            allowed = ", ".join(status.value for status in TicketStatus)
            form.errors["status"] = f"The status must be one of {allowed}."
    if "assignee" in data and partial:
        form.values["assignee"] = data["assignee"].strip()
    if partial and not form.values and not form.errors:
        form.errors["form"] = "Nothing to update: send a title, description, status or assignee."
    return form
