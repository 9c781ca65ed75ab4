"""``?assignee=me``: the list of whoever asks, which no shared entry can be.

A cached list is the same for everyone, so ``me`` is never a key: for a
signed-in person the page is the list of their own id (``?assignee=<id>``,
cached and live like any other, and shared with whoever asks for that
person's tickets), served under the address they asked for. That answer is
theirs alone, so it says ``private, no-store``: neither the edge nor a
browser may keep it for anyone else. A visitor is sent to sign in first, then
back here (as any page a visitor may not use does; DESIGN.md, "People").
Fragment sources never take ``me`` (the app writes their URLs from canonical
queries, which name the id): there it is a 400.
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
NOT_KEPT = "private, no-store"


def resolving_me(endpoint: Endpoint) -> Endpoint:
    """The list page's endpoint, with ``?assignee=me`` read as the asker's id."""

    @functools.wraps(endpoint)  # keeps its cache_query, for the cache inspector
    async def serve(request: Request) -> Response:
        if request.query_params.get("assignee") != ME:
            return await endpoint(request)
        viewer = await viewer_of(request.scope)
        if viewer is None:
            asked = paths.tickets_path(request.url.query)
            where = f"{paths.login_path()}?next={quote(asked, safe='')}"
            answer: Response = RedirectResponse(where, status_code=303)
        else:
            params = {**request.query_params, "assignee": viewer.id}
            request.state.list_query = ListQuery.parse(params)  # or a 400; the key it makes
            answer = await endpoint(request)
        answer.headers["Cache-Control"] = NOT_KEPT
        return answer

    return serve
