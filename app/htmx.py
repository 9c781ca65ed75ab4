"""What htmx tells us about a request, and helpers that shape responses for it.

Modelled on django-htmx: ``HtmxDetails(request)`` is falsy for a plain
request and has one property per header htmx sends.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.cache import Variants
from app.cache.keys import RequestHeaders

PAGE = "page"
PARTIAL = "partial"  # the page's main block: what an htmx request swaps in


def variant_of(headers: RequestHeaders) -> str:
    """``partial`` for an htmx request, except a history restore: that wants the page."""
    if headers.get(b"hx-request") == b"true":
        return PAGE if headers.get(b"hx-history-restore-request") == b"true" else PARTIAL
    return PAGE


# What CacheMiddleware keys each GET by: the same URL is a page or a partial.
# Answers also vary by the session cookie, through their holes (app/holes.py);
# the cache key does not: one entry serves everyone.
# The edge folds the two HX headers into one before it looks up (edge/tickets.vcl).
VARIANTS = Variants(variant_of, vary=("HX-Request", "HX-History-Restore-Request", "Cookie"))


def wants_partial(request: Request) -> bool:
    """Whether to answer the main block only: the rule the cache keys by."""
    return variant_of(dict(request.scope["headers"])) == PARTIAL


class HtmxDetails:
    def __init__(self, request: Request) -> None:
        self._headers = request.headers

    def __bool__(self) -> bool:
        return self._headers.get("hx-request") == "true"

    @property
    def boosted(self) -> bool:
        return self._headers.get("hx-boosted") == "true"

    @property
    def history_restore_request(self) -> bool:
        return self._headers.get("hx-history-restore-request") == "true"

    @property
    def target(self) -> str | None:
        return self._headers.get("hx-target")

    @property
    def trigger(self) -> str | None:
        return self._headers.get("hx-trigger")

    @property
    def current_url(self) -> str | None:
        return self._headers.get("hx-current-url")


HX_REDIRECT = "HX-Redirect"
# What an inline action's answer triggers (the public contract): page scripts
# may listen; our own pages refresh from the event stream.
TICKETS_CHANGED = "tickets-changed"


def hx_redirect(response: Response, url: str) -> Response:
    """Make htmx load ``url`` as a new page."""
    response.headers[HX_REDIRECT] = url
    return response


def hx_changed(response: Response) -> Response:
    """Mark an inline action's answer: ``HX-Trigger: tickets-changed``."""
    response.headers["HX-Trigger"] = TICKETS_CHANGED
    return response


def hx_no_history(response: Response) -> Response:
    """Keep the address bar as it is: a form answered with its errors is no new page
    (htmx would push the action's URL, which a reload would then GET)."""
    response.headers["HX-Push-Url"] = "false"
    return response


def hx_retarget(response: Response, selector: str, swap: str = "outerHTML") -> Response:
    """Swap this response somewhere else than the request asked (a form with errors)."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response
