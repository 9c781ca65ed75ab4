"""Validation of the ticket fields a form posts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.models import CONTENT_MAX, TITLE_MAX, TicketStatus

FIELDS = ("title", "content", "status")
# Control characters have no place in a ticket (NUL is even refused by
# PostgreSQL); a description keeps its line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What the form's labels call each field, so that a message uses the same word.
LABELS = {"title": "title", "content": "description", "status": "status"}


@dataclass
class TicketForm:
    """What was posted, the clean values, and a message per invalid field."""

    data: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def first_invalid(self) -> str | None:
        """The field focus goes to when the form comes back with its messages."""
        return next((name for name in FIELDS if name in self.errors), None)


def validate(posted: Mapping[str, Any], *, partial: bool) -> TicketForm:
    """Check the posted fields; with ``partial``, absent fields are left alone.

    A create needs a title and content; an update takes any of the three.
    """
    data = {name: str(posted[name]) for name in FIELDS if isinstance(posted.get(name), str)}
    form = TicketForm(data=data)
    for name, limit in (("title", TITLE_MAX), ("content", CONTENT_MAX)):
        if name not in data and partial:
            continue
        value = data.get(name, "").strip()
        label = LABELS[name]
        control = _CONTROL if name == "title" else _CONTROL_BUT_LINES
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
    if partial and not form.values and not form.errors:
        form.errors["form"] = "Nothing to update: send a title, description or status."
    return form
