"""``ALLOWED_HOSTS``: a request whose ``Host`` is not one of ours gets 400.

Without it, a page served from a DNS name rebound to our address would be
same-origin with us (its ``Origin`` matches its ``Host``), and could post.

Starlette's TrustedHostMiddleware does this job, but parses every header of
every request: 2.6 µs on a cached HIT that takes 4 µs in all (measured with
an in-process loop of 200,000 requests). This looks at one header.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ANY = "*"


class AllowedHosts:
    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(host.lower().encode() for host in hosts)
        self.any = ANY.encode() in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or self.any or host_of(scope) in self.hosts:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            await PlainTextResponse("Unknown host: this app answers to its own names only.", 400)(
                scope, receive, send
            )
        # a websocket to a foreign host: closed unanswered


def host_of(scope: Scope) -> bytes:
    """The host name of the request's ``Host`` header, lowercased, without its port."""
    for name, raw in scope["headers"]:
        if name == b"host":
            value: bytes = raw.lower()
            if value.startswith(b"["):  # [::1]:8000
                return value[: value.find(b"]") + 1]
            return value.partition(b":")[0]
    return b""
