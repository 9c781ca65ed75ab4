"""The headers every answer carries for the browser: what it may run, load and frame.

``CachedApp`` hands ``HEADERS`` to the two layers every answer leaves
through: ``CacheMiddleware``, which adds them to each answer it passes or
makes (a page or its htmx variant, a source under ``/fragments``, an error
page, a static file, a HIT and so a kept repeat: the cache never stores them,
they are added on the way out), and the Host check, to its refusal. Through
the edge too, which keeps what the app answered. No middleware of its own:
one around every answer cost each HIT a closure and a copy of its headers.

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
