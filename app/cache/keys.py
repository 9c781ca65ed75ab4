"""How a GET is keyed: the variant it asks for, its key, the cookies it carries.

Which variant of a URL a request wants (a page, or a part of it for a script)
is the app's business: it hands the middleware a ``Variants``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.types import Scope

from app.cache.context import READ_AFTER_COOKIE, READ_AFTER_HEADER, RequestKey
from app.cache.holes import fills_esi

RequestHeaders = Mapping[bytes, bytes]  # lower-case names, as ASGI gives them
# The request headers an answer depends on besides its variant's (``request_key``
# reads no other; ``Host`` is the Host check's): what a request is asked by
# (``Variants.asked_by``), whatever else it carries (``app/cache/repeats.py``).
ANSWER_HEADERS = (
    b"host",
    b"cookie",  # its visitor, for the holes (and their read-after clock)
    b"if-none-match",
    b"accept-encoding",
    b"surrogate-capability",
    READ_AFTER_HEADER,
)
# A store clock counts microseconds (16 digits today); 18 stay below 2**63,
# which the edge's integers hold too. A longer number is no clock.
CLOCK_DIGITS_MAX = 18
_READ_AFTER_NAME = READ_AFTER_COOKIE.encode() + b"="


@dataclass(frozen=True, slots=True)
class Variants:
    """How the app splits one URL into representations.

    ``of`` names the variant a request's headers ask for (it becomes part of
    the key); ``vary`` lists every header it reads, for the ``Vary`` header
    (which HTTP caches rely on: ``of`` must read no other).
    """

    of: Callable[[RequestHeaders], str]
    vary: tuple[str, ...] = ()
    vary_header: bytes = field(init=False)  # the Vary header of every answer, made once
    # Every request header an answer may depend on: two requests that agree on
    # them (and on method, path and query) get the same answer.
    asked_by: tuple[bytes, ...] = field(init=False)

    def __post_init__(self) -> None:
        vary_header = ", ".join((*self.vary, "Accept-Encoding")).encode()
        object.__setattr__(self, "vary_header", vary_header)
        named = (name.lower().encode("latin-1") for name in self.vary)
        object.__setattr__(self, "asked_by", tuple(dict.fromkeys((*ANSWER_HEADERS, *named))))


ONE_VARIANT = Variants(lambda headers: "page")


def response_key(path: str, query_string: bytes, variant: str) -> str:
    """``GET /tickets?b=2&a=1``, variant ``partial`` -> ``/tickets?a=1&b=2 partial``."""
    if not query_string:
        return f"{path}? {variant}"  # the common case, without parsing
    query = urlencode(sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))
    return f"{path}?{query} {variant}"


def request_key(scope: Scope, variants: Variants) -> RequestKey:
    """The key a GET is cached under, and the headers its answer depends on."""
    headers = dict(scope["headers"])
    get = headers.get
    variant = variants.of(headers)
    cookie = get(b"cookie")
    # A visitor's cookies come in one header (RFC 6265, 5.4); most hold no token.
    read_after = read_after_of(scope) if cookie and _READ_AFTER_NAME in cookie else 0
    forwarded = get(READ_AFTER_HEADER)  # an edge's
    if forwarded is not None:
        read_after = max(read_after, clock_of(forwarded))
    surrogate = get(b"surrogate-capability")
    # Positional, in the fields' order: keywords cost this, the hottest call, 3x.
    return RequestKey(
        response_key(scope["path"], scope["query_string"], variant),
        variant,
        get(b"if-none-match"),
        get(b"accept-encoding"),
        variants.vary_header,
        read_after,
        0,  # heard: read by the middleware, for an edge
        None,  # visitor: worked out only for an answer with holes
        fills_esi(surrogate),
        surrogate is not None,  # tagged: asked by an edge
        cookie is not None,
    )


def read_after_of(scope: Scope) -> int:
    """The store clock of the visitor's last write, from its cookie (0: none)."""
    number = cookie_of(scope, READ_AFTER_COOKIE)
    return 0 if number is None else clock_of(number)


def clock_of(text: bytes) -> int:
    """A store clock written in decimal (0: not one, nor worth parsing)."""
    return int(text) if text.isdigit() and len(text) <= CLOCK_DIGITS_MAX else 0


def cookie_of(scope: Scope, name: str) -> bytes | None:
    """The value of one cookie, read straight from the headers (no parsing of
    the rest): of the ``;``-separated parts, the first whose name, blanks
    around it dropped, is ``name``; its value up to the next ``;``, without
    trailing blanks."""
    wanted = name.encode() + b"="
    value: bytes
    for header, value in scope["headers"]:
        if header == b"cookie" and wanted in value:
            found = _cookie_in(value, wanted)
            if found is not None:
                return found
    return None


def _cookie_in(header: bytes, wanted: bytes) -> bytes | None:
    """The value of the first cookie ``wanted`` (``name=``) in one header: found
    by a scan for it at a cookie's start, not by splitting the whole header
    (half the time of a signed-in person's session lookup)."""
    at = header.find(wanted)
    while at != -1:
        before = at - 1
        while before >= 0 and header[before] in _BLANKS:
            before -= 1
        if before < 0 or header[before] == _SEMICOLON:  # at a cookie's start
            start = at + len(wanted)
            end = header.find(b";", start)
            return header[start : None if end == -1 else end].rstrip()
        at = header.find(wanted, at + 1)
    return None


_BLANKS = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() drops
_SEMICOLON = ord(";")
