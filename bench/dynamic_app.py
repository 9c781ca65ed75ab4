"""The real app forced to render ``GET /tickets`` on every request (X-Cache: MISS).

Two ASGI factories, both on the unchanged app:

- ``create_app_store_off``: ``cache_max_bytes=1``, so ``put`` refuses every
  entry (each is bigger than the bound) and nothing is ever stored; requests
  that arrive while a render of their key is in flight may still share it
  (single-flight).
- ``create_app``: the same, and every ``Cache.serve`` call (a page) gets a key
  of its own, so no two requests share a page render: every request renders
  the page. This is the "force-dynamic" figure the cached route is compared
  with. (A query string of its own would not do: a route keys its entries by
  the parameters it declares only.)

Fragments keep their fixed keys, so concurrent page renders may still share a
fragment render in flight.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from starlette.applications import Starlette

from app import main
from app.cache import Cache
from app.settings import Settings


def create_app_store_off(**settings: Any) -> Starlette:
    return main.create_app(dataclasses.replace(Settings.from_env(), cache_max_bytes=1, **settings))


def create_app(**settings: Any) -> Starlette:
    app = create_app_store_off(**settings)
    cache: Cache = app.state.cache
    serve = cache.serve
    counter = itertools.count()

    async def unique_key(key: str, *args: Any, **options: Any) -> Any:
        return await serve(f"{key} #{next(counter)}", *args, **options)

    cache.serve = unique_key  # type: ignore[method-assign]
    return app
