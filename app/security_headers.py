"""The headers every answer carries for the browser: what it may run, load and frame.

``SecurityHeaders`` is the outermost layer of the app (``CachedApp``), so
every answer gets them, however it was made: a page or its htmx variant, a
source under ``/fragments``, an error page, a static file, a kept repeat or
a HIT (the cache never stores them: they are added on the way out), and
through the edge, which keeps what the app answered.

The policy allows scripts from this origin only, and one inline script by
its hash (``MARK_JS``, which ``base.html`` inlines so that the page's
styles know JavaScript runs before the first paint). No ``unsafe-inline``,
no ``unsafe-eval``: htmx is told not to inject its indicator styles and not
to evaluate attribute code (``includeIndicatorStyles``, ``allowEval`` in
``base.html``'s htmx-config), and the pages use no ``hx-on`` nor event
handler attributes (static/ui.js binds them).
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Inlined in base.html's <head> (through the templates' ``mark_js`` global),
# allowed by its hash below: change it, and the hash follows.
MARK_JS = 'document.documentElement.classList.add("js")'


def script_hash(source: str) -> str:
    """A CSP source that allows the inline script ``source``, exactly."""
    digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
    return f"'sha256-{digest}'"


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        f"script-src 'self' {script_hash(MARK_JS)}",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)

HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),  # frame-ancestors, for browsers without CSP 2
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeaders:
    """Adds ``HEADERS`` to the start of every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A new message: the one given may be kept and sent again (a repeat).
                message = {**message, "headers": [*message.get("headers", ()), *HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
