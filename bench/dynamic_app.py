"""The real app with a store too small to hold anything: every GET renders.

``cache_max_bytes=1`` keeps the whole cache path (middleware lookup, render
scope, tag collection, single-flight, ``put``) but ``put`` refuses every entry
because it is bigger than the bound, so each ``GET /tickets`` answers
``X-Cache: MISS``. That is the cost the cache saves, measured on the same route.
"""

from __future__ import annotations

import dataclasses

from starlette.applications import Starlette

from app import main
from app.settings import Settings


def create_app() -> Starlette:
    settings = dataclasses.replace(Settings.from_env(), cache_max_bytes=1)
    return main.create_app(settings)
