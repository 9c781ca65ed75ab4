"""What an action tells the person who made it: a short notice, maybe with an undo.

A notice never travels in a body: bodies are cache entries that every visitor
shares. It rides htmx's trigger headers as a ``notice`` event, which
static/ui.js shows as a toast and announces. An answer that swaps something in
carries it after the swap has settled (so that focus has moved first); an
answer that navigates carries it at once (``HX-Trigger``), before the page
changes under the toast. ``HX-Trigger`` of an inline answer stays
``tickets-changed``, as the public contract says.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from app.htmx import HX_REDIRECT

EVENT = "notice"
QUOTED_MAX = 60  # characters of a title quoted in a notice


def notify(
    response: Response, message: str, *, undo: str | None = None, subject: str | None = None
) -> Response:
    """Attach ``message`` to an htmx answer; ``undo``: the URL an Undo button posts
    to, ``subject``: the id of the element it is about (a row Undo puts back)."""
    detail = {"message": message, "undo": undo, "subject": subject}
    detail = {name: value for name, value in detail.items() if value}
    header = "HX-Trigger" if HX_REDIRECT in response.headers else "HX-Trigger-After-Settle"
    # ASCII JSON: header values are Latin-1, titles are not.
    response.headers[header] = json.dumps({EVENT: detail}, ensure_ascii=True)
    return response


def quoted(title: str) -> str:
    """``“A title”``, cut short when long: a notice is read at a glance."""
    if len(title) > QUOTED_MAX:
        title = title[: QUOTED_MAX - 1].rstrip() + "…"
    return f"“{title}”"
