"""Cross-origin protection for unsafe requests, by the browser's own headers.

A cached page is shared by every visitor, so it cannot carry a per-visitor
CSRF token. Instead, like Go's ``http.CrossOriginProtection`` and Next.js
server actions, we trust what the browser says about where a request came
from: ``Sec-Fetch-Site`` (``cross-site``/``same-site`` is refused) and
``Origin`` (anything but this app's own is refused). A request with neither
header does not come from a browser and cannot ride a visitor's cookies.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED_FETCH_SITES = frozenset({b"cross-site", b"same-site"})


class CrossOriginProtection:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            reason = refusal(scope)
            if reason is not None:
                await PlainTextResponse(reason, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def refusal(scope: Scope) -> str | None:
    """Why this unsafe request must be refused, or None to serve it."""
    headers = dict(scope["headers"])
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site in REFUSED_FETCH_SITES:
        return f"Cross-site request refused (Sec-Fetch-Site: {fetch_site.decode('latin-1')})."
    origin = headers.get(b"origin")
    if origin is not None and origin.decode("latin-1") != own_origin(scope, headers):
        return "Cross-origin request refused: Origin does not match this site."
    return None


def own_origin(scope: Scope, headers: dict[bytes, bytes]) -> str:
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else ""
    scheme = scope.get("scheme", "http")
    default_port = {"http": ":80", "https": ":443"}.get(scheme, "")
    return f"{scheme}://{host.removesuffix(default_port)}"
