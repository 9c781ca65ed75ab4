"""A bounded fuzz of the app's HTTP surface: hostile requests from a fixed seed, and their check.

``requests(seed, count, ids)`` makes the same ``count`` requests for the
same seed: random methods, paths (the app's routes with odd ids and
segments, and paths it has not), query strings, headers and form bodies,
drawn from values that broke something once (dates past 2038 and before
1970, 5,000 digits, bad base64, NUL, long text, odd Unicode) and from
*markers*: ``<x-fuzz-N>``, a tag no page holds. ``problem(request, answer)``
says what is wrong with an answer: a 5xx, or a marker of its request shown
unescaped in an HTML body (input echoed as markup).

Used in process (``tests/test_fuzz.py``, both stacks) and through the edge
(``tests/edge/test_fuzz_edge.py``); never ``GET /events``, a stream that
does not end (its ``HEAD`` is asked).
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

METHODS = ("GET",) * 8 + ("POST",) * 5 + ("HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "PURGE")
MARKER = re.compile(rb"<x-fuzz-[0-9-]+>")
_DATES = (
    "2100-01-01T00:00:00+00:00",
    "2041-05-12T00:00:00",
    "1969-07-20T20:17:40+00:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59.999999+00:00",
    "2038-01-19T03:14:08Z",
    "9" * 5000,
)
_TEXT = (
    "",
    " ",
    "a",
    "Printer on fire",
    "x" * 5000,
    "9" * 5000,
    "-1",
    "0",
    "1e309",
    "NaN",
    "ÉTÉ café",
    "\u202e\u200b",
    "\U0001f525",
    "a\x00b",
    "line\r\nInjected: yes",
    "' OR 1=1 --",
    '"*',
    "NEAR(a b)",
    "%00",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "<script>alert(1)</script>",
    "OPEN",
    "DONE",
    "IN_PROGRESS",
    "me",
    "none",
    "true",
)
_FIELDS = (
    "title", "content", "status", "assignee", "version", "name", "email", "password",
    "body", "q", "cursor", "until", "next",
)  # fmt: skip
_FORMS = (  # a path's end, and the fields its form posts
    ("/tickets", ("title", "content")),
    ("/update", ("title", "content", "status", "assignee", "version")),
    ("/comments", ("body",)),
    ("/signup", ("name", "email", "password")),
    ("/login", ("email", "password")),
    ("/account", ("name",)),
)
_PARAMS = ("q", "status", "cursor", "until", "assignee", "last_event_id", "next", "page", "utm")
_HEADERS = (
    "HX-Request", "HX-Target", "HX-History-Restore-Request", "HX-Current-URL", "HX-Trigger",
    "If-None-Match", "Accept-Encoding", "Last-Event-ID", "Origin", "Sec-Fetch-Site", "Referer",
    "Cookie", "Surrogate-Capability", "X-Forwarded-For", "Accept", "Content-Type",
    "Authorization", "Range",
)  # fmt: skip
_HEADER_VALUES = (
    "true",
    "false",
    "true, false",
    "TRUE",
    "*",
    'W/"x", "y"',
    "br, gzip;q=0.5, *;q=1e309",
    "gzip;q=NaN",
    "http://evil.example",
    "null",
    "cross-site",
    "same-origin",
    "session=garbage; cache-read-after=" + "9" * 5000,
    "cache-read-after=-1",
    "session=" + "A" * 4000,
    "ESI/1.0",
    "1.2.3.4, 127.0.0.1",
    "Bearer nonsense",
    "bytes=0-0,5-1",
    "text/html;q=0, */*;q=0.1",
    "multipart/form-data; boundary=",
    "application/x-www-form-urlencoded",
    "9" * 5000,
)


def cursor_of(raw: str) -> str:
    """A cursor as the list writes them (url-safe base64, unpadded), of any text."""
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode().rstrip("=")


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    url: str  # path and query string, already encoded
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    markers: frozenset[str] = frozenset()  # the markers its parts hold
    person: int = 0  # who asks: 0 nobody, 1 the admin, 2 somebody else (the caller's clients)


class _Draw:
    """One request's random choices, and the markers they planted."""

    def __init__(self, rng: random.Random, number: int, ids: Sequence[str]) -> None:
        self.rng = rng
        self.number = number
        self.ids = ids
        self.markers: set[str] = set()

    def marker(self) -> str:
        mark = f"<x-fuzz-{self.number}-{len(self.markers)}>"
        self.markers.add(mark)
        return mark

    def text(self) -> str:
        roll = self.rng.random()
        if roll < 0.3:
            return self.marker()
        if roll < 0.4:
            return f"a {self.marker()} b"
        if roll < 0.6:
            return cursor_of(f"{self.rng.choice(_DATES)}|{self.ticket_id()}")
        return self.rng.choice(_TEXT)

    def ticket_id(self) -> str:
        roll = self.rng.random()
        if roll < 0.6 and self.ids:
            return self.rng.choice(self.ids)
        return self.rng.choice(
            ["0" * 36, "00000000-0000-4000-8000-000000000000", "x" * 300, "1", self.marker()]
        )

    def path(self) -> str:
        ticket = quote(self.ticket_id(), safe="-")
        return self.rng.choice(
            [
                "/",
                "/tickets",
                "/tickets",
                f"/tickets/{ticket}",
                f"/tickets/{ticket}/edit",
                f"/tickets/{ticket}/update",
                f"/tickets/{ticket}/delete",
                f"/tickets/{ticket}/restore",
                f"/tickets/{ticket}/comments",
                "/fragments/tickets",
                "/fragments/counts",
                "/fragments/status-legend",
                f"/fragments/tickets/{ticket}",
                f"/fragments/tickets/{ticket}/row",
                f"/holes/tickets/{ticket}/delete/row/nobody",
                "/holes/account",
                "/signup",
                "/login",
                "/logout",
                "/account",
                "/admin/cache",
                "/metrics",
                "/static/app.css",
                "/static/../app/settings.py",
                f"/{quote(self.marker())}",
                "/tickets/" + "9" * 5000,
                "//tickets",
                "/tickets/%00",
                "/tickets%2f..%2fsettings",
            ]
        )

    def query(self) -> str:
        params = [
            (self.rng.choice(_PARAMS), self.text()) for _ in range(self.rng.choice((0, 0, 1, 2, 3)))
        ]
        return urlencode(params, encoding="utf-8", errors="surrogatepass")

    def headers(self) -> dict[str, str]:
        chosen: dict[str, str] = {}
        for _ in range(self.rng.choice((0, 1, 2, 3, 4))):
            name = self.rng.choice(_HEADERS)
            value = self.rng.choice(_HEADER_VALUES)
            if name in ("HX-Target", "HX-Current-URL", "Referer", "HX-Trigger"):
                value = self.rng.choice([value, self.marker()])
            chosen[name] = value
        return chosen

    def body(self, path: str) -> bytes:
        """Mostly the form ``path`` takes, each field plausible (holding a marker)
        or hostile; then a few fields of any form."""
        form = next((names for end, names in _FORMS if path.endswith(end)), ())
        fields = [(name, self.value(name)) for name in form if self.rng.random() < 0.9]
        fields += [(self.rng.choice(_FIELDS), self.text()) for _ in range(self.rng.randint(0, 2))]
        return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode()

    def value(self, name: str) -> str:
        if self.rng.random() < 0.4:
            return self.text()
        plausible = {
            "email": f"fuzz-{self.number}@example.com",
            "password": "correct horse battery staple",
            "status": self.rng.choice(("OPEN", "IN_PROGRESS", "DONE")),
            "assignee": self.rng.choice(("", "me")),
            "version": str(self.rng.randint(0, 3)),
        }
        return plausible.get(name, f"Fuzz {self.marker()} ok")


def requests(seed: int, count: int, ids: Sequence[str] = ()) -> Iterator[FuzzRequest]:
    """``count`` hostile requests, the same ones for the same ``seed`` and ``ids``."""
    rng = random.Random(seed)
    for number in range(count):
        draw = _Draw(rng, number, ids)
        method = rng.choice(METHODS)
        path = draw.path()
        if method == "GET" and path == "/events":
            method = "HEAD"
        query = draw.query()
        headers = draw.headers()
        body = draw.body(path) if method in ("POST", "PUT", "PATCH") else b""
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        person = rng.randrange(3)
        if path == "/logout":  # ends a session for good: the people stay signed in
            person = 0
        yield FuzzRequest(
            method,
            f"{path}?{query}" if query else path,
            headers,
            body,
            frozenset(draw.markers),
            person=person,
        )


def problem(request: FuzzRequest, status: int, content_type: str, body: bytes) -> str | None:
    """What is wrong with an answer to ``request``, if anything."""
    if status >= 500:
        return f"{status} for {request.method} {request.url[:200]}"
    if "html" in content_type or not content_type:
        shown = sorted({found.decode() for found in MARKER.findall(body)})
        if shown:  # its own input, or another request's that was stored
            return (
                f"{shown} unescaped in the {status} answer to {request.method} {request.url[:200]}"
            )
    return None
