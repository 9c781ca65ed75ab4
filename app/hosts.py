"""``ALLOWED_HOSTS``: a request whose ``Host`` is not one of ours gets 400.

Without it, a page served from a DNS name rebound to our address would be
same-origin with us (its ``Origin`` matches its ``Host``), and could post.

Starlette's TrustedHostMiddleware does this job, but parses every header of
every request, which cost most of a cached HIT (bench/README.md). This looks
at one header.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ANY = "*"  # in ALLOWED_HOSTS: any name
SEEN_MAX = 64  # raw Host values remembered as allowed (a name with a few ports)


class AllowedHosts:
    def __init__(
        self, app: ASGIApp, hosts: Iterable[str], headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        self.app = app
        self.headers = list(headers)  # on its refusal too (the app's browser policy)
        self.hosts = frozenset(host.lower().encode() for host in hosts)
        self.any = ANY.encode() in self.hosts
        self._seen: set[bytes] = set()  # raw values found allowed: one lookup next time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or self.any or self._allows(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            refusal = PlainTextResponse(
                "Unknown host: this app answers to its own names only.", 400
            )
            refusal.raw_headers += self.headers
            await refusal(scope, receive, send)
        # a websocket to a foreign host: closed unanswered

    def _allows(self, scope: Scope) -> bool:
        raw = raw_host(scope)
        if raw in self._seen:
            return True
        if _name(raw) not in self.hosts:
            return False
        if len(self._seen) < SEEN_MAX:
            self._seen.add(raw)
        return True


def raw_host(scope: Scope) -> bytes:
    """The request's ``Host`` header as sent."""
    for name, value in scope["headers"]:
        if name == b"host":
            return value  # type: ignore[no-any-return]
    return b""


def _name(raw: bytes) -> bytes:
    """The host name of a ``Host`` value, lowercased, without its port."""
    value = raw.lower()
    if value.startswith(b"["):  # [::1]:8000
        return value[: value.find(b"]") + 1]
    return value.partition(b":")[0]
