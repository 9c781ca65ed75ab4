"""Validation of a comment's one field, ``body``: 1 to 10,000 characters of text.

The text is Markdown, rendered and sanitised on read (app/rich_text.py), so
markup typed in it is harmless and kept as typed; control characters other
than line breaks and tabs are refused (NUL is even refused by PostgreSQL).
Line breaks count as one character however the browser sent them (a
textarea's ``maxlength`` counts ``\\r\\n`` as one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.forms import CONTROL_BUT_LINES, Form
from app.models import COMMENT_MAX

FIELD = "body"
EMPTY = "Write a comment first."
CONTROL = "The comment holds a control character; remove it."


class CommentForm(Form):
    """A comment's body (labelled Comment)."""


def validate(posted: Mapping[str, Any]) -> CommentForm:
    raw = posted.get(FIELD)
    text = raw.replace("\r\n", "\n").replace("\r", "\n") if isinstance(raw, str) else ""
    form = CommentForm(data={FIELD: text})
    body = text.strip()
    if not body:
        form.errors[FIELD] = EMPTY
    elif CONTROL_BUT_LINES.search(body):
        form.errors[FIELD] = CONTROL
    elif len(body) > COMMENT_MAX:
        given = f"{len(body):,} given"
        form.errors[FIELD] = f"A comment is at most {COMMENT_MAX:,} characters ({given})."
    else:
        form.values[FIELD] = body
    return form
