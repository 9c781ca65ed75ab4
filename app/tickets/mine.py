"""``?assignee=me``: the list of whoever asks, which no shared entry can be.

A cached list is the same for everyone, so ``me`` is never a key: the page
sends a signed-in person on to the list of their own id (``303``; that list
is cached and live like any other, and shared with whoever asks for that
person's tickets), and a visitor to sign in first, then back here (as any
page a visitor may not use does; DESIGN.md, "People"). The redirect itself is
kept by nobody: it is no ``200`` (the edge keeps none), and it says
``private, no-store``. Fragment sources never take ``me`` (the app writes
their URLs from canonical queries, which name the id): there it is a 400.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app import paths
from app.accounts.viewer import viewer_of
from app.tickets.filters import ME, ListQuery

Endpoint = Callable[[Request], Awaitable[Response]]


def resolving_me(endpoint: Endpoint) -> Endpoint:
    """The list page's endpoint, with ``?assignee=me`` sent on first."""

    @functools.wraps(endpoint)  # keeps its cache_query, for the cache inspector
    async def serve(request: Request) -> Response:
        if request.query_params.get("assignee") != ME:
            return await endpoint(request)
        viewer = await viewer_of(request.scope)
        if viewer is None:
            asked = paths.tickets_path(request.url.query)
            where = f"{paths.login_path()}?next={quote(asked, safe='')}"
        else:
            params = {**request.query_params, "assignee": viewer.id}
            where = paths.tickets_path(ListQuery.parse(params).canonical())  # or a 400
        answer = RedirectResponse(where, status_code=303)
        answer.headers["Cache-Control"] = "private, no-store"
        return answer

    return serve
