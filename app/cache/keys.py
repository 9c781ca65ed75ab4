"""How a GET is keyed: the variant it asks for, its key, the cookies it carries.

Which variant of a URL a request wants (a page, or a part of it for a script)
is the app's business: it hands the middleware a ``Variants``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from starlette.types import Scope

from app.cache.context import READ_AFTER_COOKIE, RequestKey
from app.cache.holes import fills_esi

RequestHeaders = Mapping[bytes, bytes]  # lower-case names, as ASGI gives them
MAX_CLOCK_DIGITS = 19  # 2**63 - 1 has 19: a longer read-after cookie is no clock


@dataclass(frozen=True, slots=True)
class Variants:
    """How the app splits one URL into representations.

    ``of`` names the variant a request's headers ask for (it becomes part of
    the key); ``vary`` lists the headers it reads, for the ``Vary`` header.
    """

    of: Callable[[RequestHeaders], str]
    vary: tuple[str, ...] = ()
    vary_header: bytes = field(init=False)  # the Vary header of every answer, made once

    def __post_init__(self) -> None:
        vary_header = ", ".join((*self.vary, "Accept-Encoding")).encode()
        object.__setattr__(self, "vary_header", vary_header)


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
    variant = variants.of(headers)
    return RequestKey(
        response_key(scope["path"], scope["query_string"], variant),
        variant=variant,
        if_none_match=headers.get(b"if-none-match"),
        accept_encoding=headers.get(b"accept-encoding"),
        vary=variants.vary_header,
        esi=fills_esi(headers.get(b"surrogate-capability")),
        tagged=b"surrogate-capability" in headers,
        has_cookie=b"cookie" in headers,
    )


def read_after_of(scope: Scope) -> int:
    """The store clock of the visitor's last soft write, from its cookie (0: none).

    Anything but a clock is no cookie of ours: 0. A clock fits in 63 bits, so
    more than ``MAX_CLOCK_DIGITS`` digits is not one (and ``int()`` of
    thousands of them raises).
    """
    number = cookie_of(scope, READ_AFTER_COOKIE)
    if number is None or not number.isdigit() or len(number) > MAX_CLOCK_DIGITS:
        return 0
    return int(number)


def cookie_of(scope: Scope, name: str) -> bytes | None:
    """The value of one cookie, read straight from the headers (no parsing of the rest)."""
    wanted = name.encode() + b"="
    value: bytes
    for header, value in scope["headers"]:
        if header == b"cookie" and wanted in value:
            for part in value.split(b";"):
                key, _, found = part.strip().partition(b"=")
                if key + b"=" == wanted:
                    return found
    return None
