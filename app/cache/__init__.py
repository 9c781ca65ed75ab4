"""A tag-keyed cache for pages and fragments, invalidated on demand.

Knows nothing of tickets, routes, SQL or htmx: the app gives it a store,
wraps its transactions in ``Cache.after_commit``, its GET endpoints in
``@cached``, and tells ``CacheMiddleware`` which ``Variants`` a URL has.

Glossary (one word per idea; the modules use no other):

page
    A full HTML document served for a URL.
variant
    One representation of a URL, chosen by request headers through the
    app's ``Variants`` (the tickets app has two: ``page``, and ``partial``,
    the page's main block for htmx). Each variant is its own entry.
encoding
    A content coding of an entry's body (``br``, ``gzip``), made once per
    entry: with it when a shared store keeps it for every process, else on
    the first request that asks for it; chosen per request by
    ``Accept-Encoding`` (``Entry.encoded_for``). Never called a variant.
fragment
    A cached sub-render (``fragment(name, render)``): an entry of its own
    that a page embeds; its tags bubble up to the page that holds it.
    ``fragments(name, parts)`` reads many of one kind (a list's rows) in one
    round trip and renders only the missing ones (``app/cache/batch.py``).
live fragment, source
    A fragment that a page's script re-fetches when its tags move; its
    element carries the tags its render collected (``collected_tags()``).
    Served alone by the app's routes under ``/fragments/``: its *source*.
canonical query
    The part of a query string a route declares (``@cached(query=...)``):
    its entries are keyed by it, whatever else the URL carries.
entry
    A stored body with its tags, snapshot, lifetime, ETag and encodings.
tag, stamp, snapshot
    A tag names data; bumping it stamps it with the store's clock; a
    snapshot is the clock read before a render reads any data. An entry is
    *fresh* while none of its tags was stamped after its snapshot.
path tags
    The tags a request gives every render inside it (``path_tags_of``): its
    page (``path:``), its route (``route:``) and its layouts (``layout:``);
    ``revalidate_path`` bumps one of them.
hard, soft
    The two strengths of a bump. Hard (the default): the next read waits for
    a fresh render. Soft (``revalidate_tag(t, soft=True)``): readers get the
    old body once more, as *stale*, while one refresh replaces it.
fresh, stale, expired
    What an entry is when read (``Freshness``): serve it; serve it once more
    and refresh it; never serve it. Also HIT and STALE in ``X-Cache``.
bypass, dynamic, declined
    A *bypassed* answer was rendered and not stored (``X-Cache: BYPASS``):
    because its route or a part inside it is *dynamic* (never cached), or
    the store could not be reached. A *declined* render raised what the app
    calls a refusal (``Cache(declined=...)``, a 404): not stored, not counted
    as a failure.
refused
    An entry the store would not keep (``Put``: moved during its render, too
    big, a store that keeps nothing, the store down). Its readers still get
    it, as ``private, no-store`` and without ``xkey``: nobody keeps it, no
    edge either.
single flight, lease
    One render of a key at a time: concurrent misses join the render in
    flight, and across processes a lease in the store lets one process
    render while the others wait for its entry (``app/cache/flight.py``).
refresh
    The background render of a stale entry; at most ``max_refreshes`` run at
    once, and one that failed is retried after a back-off while the stale
    body is served (``app/cache/refresh.py``).
visitor, anonymous
    A *visitor* is whoever asks (``Visitor``); an *anonymous* one has no
    session, and gets what nobody in particular gets.
hole, esi
    A per-visitor part of a body (who is signed in, what they may do), kept
    out of the shared entry as an ESI include and filled per request
    (``app/cache/holes.py``); the app says who the visitor is and what each
    hole holds for them (``Holes``). A request marked *esi* comes from a
    cache that fills holes itself (``Surrogate-Capability: ESI/1.0``).
audience, template
    Whom a hole is for (``Holes.audience``: a ticket's author, say): it
    fills the same for everyone in its audience, and for everyone outside
    it. A hole with none is *personal* (who is signed in). A body's
    *template* is its pieces with every hole that has an audience filled,
    made once per set of audiences its readers are in
    (``Visitor.audiences``); a known visitor's answer is a template with its
    personal holes filled.
edge
    The cache in front of the app (Varnish with xkey): answers it asks for
    name their tags (``xkey``), and each bump purges those tags there before
    the write answers (``app/cache/edge.py``, through the ``Purger``
    protocol).
derived
    What is worked out of an entry once and kept with it in this process,
    never stored (``Entry.derived``): its body cut at its holes, its public
    body, its answers by *answer kind* (status, encoding, esi ...), and the
    app's own values (``Entry.decoded`` with a ``Decoding``).
repeat, shape, mark
    A repeat is a request with the very *shape* (method, URL and every
    header an answer depends on; of ``Cookie``, the cookies a visitor is
    known by, ``Holes.cookies``) of one answered from a fresh entry (a
    known visitor's: asked twice): given the same answer again, without a
    read, while the store's *mark* (it moves with every bump this process
    applies or hears) stays where it was (``RepeatsMiddleware``).
owed bump
    An invalidation the store could not take (it was down): applied before
    this process reads from the store again (``Cache.lookup``).
commit
    What one transaction invalidates (``after_commit()`` yields it): queued
    inside, applied after COMMIT; the app keeps it in an outbox in the same
    transaction (``Commit.to_text``), and any process can apply what its
    writer could not (``Cache.apply_commit``).
read-after clock, heard, read through
    The store clock after a request's bump, kept in a cookie (and handed on
    by the edge in a header): that visitor's token. A process has *heard*
    up to a clock when every bump up to it is in what it reads (its channel
    handled them); it reads for the visitor once it has heard their token
    (``Cache.catch_up`` waits a little), or else *reads through*: renders,
    using nothing it keeps. An answer to an edge says how recent it is
    (``x-cache-clock``); the edge fetches again for a later token.
generation
    The build of the code that renders: a shared store keeps each
    generation's entries apart, and shares stamps.
sample, verification, divergence
    A *sampled* GET (``Cache(verify_rate=...)``) is routed rather than
    answered before routing; when it is a HIT, its *verification* renders
    it again in the background, over a store that keeps nothing, and
    compares the bodies. A *divergence* is a difference while none of the
    entry's tags moved: a dependency its render did not record
    (``app/cache/verify.py``).
near copy, channel
    With Redis: the hot entries a process keeps by itself, and the pub/sub
    channel whose messages (bumps, and a heartbeat) keep them true
    (``app/cache/redis/``).
off, oracle
    ``CACHE_URL=off``: a store that keeps nothing (``OffStore``), so every
    answer is rendered (``X-Cache: MISS``) and invalidations still reach the
    listeners. The app run so over the same database is the *oracle*: what
    any cached answer must equal (``tests/test_fresh.py``).

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
from app.cache.fill import FillHoles
from app.cache.helpers import fragment, fragments, revalidate_path, revalidate_tag
from app.cache.holes import Holes, Visitor
from app.cache.inspect import Inspection
from app.cache.invalidation import EVERYTHING, Commit
from app.cache.keys import Variants, cookie_of
from app.cache.memory import MemoryStore
from app.cache.middleware import CacheMiddleware
from app.cache.off import OffStore
from app.cache.repeats import Repeats, RepeatsMiddleware
from app.cache.scope import cache_tag, collected_tags, is_rendering
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
    "OffStore",
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
    "is_rendering",
    "revalidate_path",
    "revalidate_tag",
]
