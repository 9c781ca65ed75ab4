"""``CacheMiddleware``: the cache bound to each request, and fresh HITs answered first.

It works out each GET's key once; for a visitor with a read-after clock (their
last write), it has ``Cache.catch_up`` make sure this process has heard of
that write, or else the request reads through (nothing kept is used). It asks
``Cache.lookup`` for a fresh answer
and sends it before the router runs (no routing, no database, no template),
and keeps it in ``Repeats`` to give again to the same request. Everything
else (a miss, a stale entry, a dynamic route, a GET sampled for
verification) goes through the route, whose ``@cached`` endpoint renders
through ``Cache.serve``, which reads through the same ``lookup``.

Every answer that leaves through it, a HIT or a routed one, carries the app's
own ``headers`` (its browser policy): added here, where the answers are made,
so that a HIT (and its repeats) sends them without another layer around it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.answers import CACHE_STATUS, cached_answer, know_visitor, with_clock
from app.cache.context import READ_AFTER_COOKIE, READ_AFTER_SECONDS, Binding
from app.cache.engine import Cache
from app.cache.entry import Entry
from app.cache.holes import Visitor
from app.cache.keys import ONE_VARIANT, Variants, request_key
from app.cache.repeats import Repeats
from app.cache.served import CacheStatus


class CacheMiddleware:
    """Binds the cache to each request, once, and answers fresh HITs before routing."""

    def __init__(
        self,
        app: ASGIApp,
        cache: Cache,
        variants: Variants = ONE_VARIANT,
        repeats: Repeats | None = None,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        self.app = app
        self.cache = cache
        self.variants = variants
        self.repeats = repeats  # where the HITs it gives are kept, to be given again
        self.headers = list(headers)  # on every answer (the app's own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request, verify, read_through = None, False, False
        if scope["method"] in ("GET", "HEAD"):
            request = request_key(scope, self.variants)
            if request.read_after:  # (0 for most requests: one check on the HIT path)
                read_through = not await self.cache.catch_up(request.read_after)
            if request.tagged:  # an edge's: the answer says how recent it is
                request.heard = self.cache.heard()  # before the read
            mark = self.cache.mark() if self.repeats else None  # before the read
            # A sampled GET is routed, so that @cached can render its HIT again
            # (app/cache/verify.py). Off, the verifier is None: one check here.
            verify = self.cache.verifier is not None and self.cache.verifier.sampled()
            skip = verify or read_through
            found = None if skip else await self.cache.lookup(request.key, fresh_only=True)
            if found is not None:
                entry, holes = found[0], self.cache.holes
                await know_visitor(holes, entry, entry.body, request, scope)
                status, headers, body = cached_answer(
                    CacheStatus.HIT, entry.body, entry, request, holes
                )
                if request.tagged:
                    headers = with_clock(headers, CacheStatus.HIT, entry, request)
                headers = [*headers, *self.headers]
                start = {"type": "http.response.start", "status": status, "headers": headers}
                whole = {"type": "http.response.body", "body": body}
                if self.repeats is not None and mark is not None:
                    visitor = request.visitor
                    until = _until(entry, visitor)
                    personal = visitor is not None  # kept from its second asking
                    self.repeats.keep(
                        scope, request.key, (start, whole), mark, until, personal=personal
                    )
                await send(start)
                await send(whole)
                return
        binding = Binding(request, verify=verify, read_through=read_through)

        async def send_read_after(message: Message) -> None:
            """A request that invalidated tells its visitor's next reads how
            recent they must be (read your own writes). An answer that did
            not come through the cache says so in Cache-Status."""
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), *self.headers]
                if not any(name == b"cache-status" for name, _ in headers):
                    headers.append((b"cache-status", CACHE_STATUS[CacheStatus.BYPASS]))
                if binding.wrote_at:
                    cookie = (
                        f"{READ_AFTER_COOKIE}={binding.wrote_at}; Max-Age={READ_AFTER_SECONDS}; "
                        "Path=/; HttpOnly; SameSite=Lax"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        with self.cache.bound(binding):
            await self.app(scope, receive, send_read_after)


def _until(entry: Entry, visitor: Visitor | None) -> float | None:
    """When an answer made of ``entry`` for ``visitor`` must stop (None: only a bump ends it)."""
    if visitor is None:
        return entry.expires_at
    if entry.expires_at is None:
        return visitor.expires_at
    return min(entry.expires_at, visitor.expires_at)
