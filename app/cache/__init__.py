"""A tag-keyed cache for pages and fragments, invalidated on demand.

Knows nothing of tickets, routes, SQL or htmx: the app gives it a store,
wraps its transactions in ``Cache.after_commit``, its GET endpoints in
``@cached``, and tells ``CacheMiddleware`` which ``Variants`` a URL has.

Glossary (one word per thing):

page
    A full HTML document served for a URL.
variant
    One representation of a URL, chosen by request headers through the
    app's ``Variants`` (the tickets app has two: ``page``, and ``partial``,
    the page's main block for htmx). Each variant is its own entry.
fragment
    A cached sub-render (``fragment(name, render)``): an entry of its own
    that a page embeds; its tags bubble up to the page that holds it.
    ``fragments(name, parts)`` reads many of one kind (a list's rows) in one
    round trip and renders only the missing ones.
live fragment
    A fragment that a page's script re-fetches when its tags move; its
    element carries the tags its render collected (``collected_tags()``).
    Served alone by the app's routes under ``/fragments/``, its *source*.
canonical query
    The part of a query string a route declares (``@cached(query=...)``):
    its entries are keyed by it, whatever else the URL carries.
entry
    A stored body with its tags, snapshot, lifetime, ETag and compressed
    variants; fresh while none of its tags was bumped after its snapshot.
tag, stamp, snapshot
    A tag names data; bumping it stamps it with the store's clock; a
    snapshot is the clock read before a render reads any data.
repeat
    A request with the very method, URL and headers of one answered from a
    fresh entry: given the same answer again, without a read, while the
    store's *mark* (it moves with every bump this process applies or hears)
    stays where it was (``Repeats``, answered by ``RepeatsMiddleware`` in
    front of the app's other middleware).
derived
    What is worked out of an entry once and kept with it in this process,
    never stored (``Entry.derived``): its body cut at its holes, its public
    body, its answers by kind, and the app's own values (``Entry.decoded``
    with a ``Decoding``).
owed bump
    An invalidation the store could not take (it was down): applied before
    this process reads from the store again (``Cache.lookup``).
commit
    What one transaction invalidates (``after_commit()`` yields it): queued
    inside, applied after COMMIT; the app writes it to an outbox in the same
    transaction, and any process can ``apply`` what its writer could not.
refresh
    The background render of a stale entry; at most ``max_refreshes`` run at
    once, and one that failed is retried after a back-off while the stale
    body is served.
read-after clock
    The store clock after a request's soft invalidation, kept in a cookie: that
    visitor's reads never get a stale body older than it.
generation
    The build of the code that renders: a shared store keeps each
    generation's entries apart, and shares stamps.
lease
    The right to render one key, so a whole cluster renders it once.
edge
    A cache in front of the app (Varnish with xkey): answers it asks for name
    their tags (``xkey``), and each bump purges those tags there before the
    write answers (``app/cache/edge.py``).
hole
    A per-visitor part of a body (who is signed in, what they may do), kept out
    of the shared entry as an ESI include and filled per request
    (``app/cache/holes.py``); the app says who the visitor is and what each
    hole holds for them (``Holes``).

Reaching the cache: inside a request, ``current_cache()`` (bound once per
request by ``CacheMiddleware``); outside one, ``with cache.bound():``.
"""

from __future__ import annotations

from app.cache.decorator import cached, client_error
from app.cache.derived import Decoding
from app.cache.edge import Edge, EdgeObject
from app.cache.engine import Cache, current_cache
from app.cache.entry import Entry, Freshness
from app.cache.errors import (
    CacheError,
    EdgeUnavailable,
    NoActiveCache,
    RevalidateDuringRender,
    StoreUnavailable,
    TagError,
)
from app.cache.factory import create_store
from app.cache.helpers import fragment, fragments, revalidate_path, revalidate_tag
from app.cache.holes import FillHoles, Holes, Visitor
from app.cache.inspect import Inspection
from app.cache.invalidation import EVERYTHING, Commit
from app.cache.keys import Variants, cookie_of
from app.cache.memory import MemoryStore
from app.cache.middleware import CacheMiddleware
from app.cache.repeats import Repeats, RepeatsMiddleware
from app.cache.scope import cache_tag, collected_tags
from app.cache.served import CacheStatus, Served
from app.cache.store import Store

__all__ = [
    "EVERYTHING",
    "Cache",
    "CacheError",
    "CacheMiddleware",
    "CacheStatus",
    "Commit",
    "Decoding",
    "Edge",
    "EdgeObject",
    "EdgeUnavailable",
    "Entry",
    "FillHoles",
    "Freshness",
    "Holes",
    "Inspection",
    "MemoryStore",
    "NoActiveCache",
    "Repeats",
    "RepeatsMiddleware",
    "RevalidateDuringRender",
    "Served",
    "Store",
    "StoreUnavailable",
    "TagError",
    "Variants",
    "Visitor",
    "cache_tag",
    "cached",
    "client_error",
    "collected_tags",
    "cookie_of",
    "create_store",
    "current_cache",
    "fragment",
    "fragments",
    "revalidate_path",
    "revalidate_tag",
]
