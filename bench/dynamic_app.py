"""The real app forced to render ``GET /tickets`` on every request (X-Cache: MISS).

Two ASGI factories, both on the unchanged app:

- ``create_app_store_off``: ``cache_max_bytes=1``, so ``put`` refuses every
  entry (each is bigger than the bound) and nothing is ever stored. Under
  concurrent load, single-flight still lets requests that arrive while a render
  is in flight share it, so far fewer renders than requests happen.
- ``create_app``: the same, plus a wrapper that gives each request a query
  string of its own. The response key includes the query string, so no two
  requests share a page render: every request renders the page. This is the
  "force-dynamic" figure the cached route is compared with.

Fragments (the ticket counts, the legend) keep their fixed keys, so concurrent
page renders may still share a fragment render in flight.
"""

from __future__ import annotations

import dataclasses
import itertools

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from app import main
from app.settings import Settings


def create_app_store_off() -> Starlette:
    settings = dataclasses.replace(Settings.from_env(), cache_max_bytes=1)
    return main.create_app(settings)


class UniqueKeys:
    """Give every HTTP request a distinct query string, hence a distinct cache key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counter = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "query_string": b"bench-request=%d" % next(self.counter)}
        await self.app(scope, receive, send)


def create_app() -> ASGIApp:
    return UniqueKeys(create_app_store_off())
