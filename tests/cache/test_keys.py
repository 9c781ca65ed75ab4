"""How a GET is keyed: its variant, its sorted or declared query, its cookies."""

from __future__ import annotations

import httpx
import pytest

from app.cache.context import RequestKey
from app.cache.keys import (
    CLOCK_DIGITS_MAX,
    ONE_VARIANT,
    cookie_of,
    read_after_of,
    request_key,
    response_key,
)
from tests.cache.helpers import VARIANTS, Site


def test_response_key_sorts_the_query_and_names_the_variant() -> None:
    assert response_key("/p", b"b=2&a=1&a=0", "page") == "/p?a=0&a=1&b=2 page"


async def test_variants_the_app_names_are_cached_apart(
    site: Site, client: httpx.AsyncClient
) -> None:
    page = await client.get("/static-page")
    part = await client.get("/static-page", headers={"X-Part": "yes"})
    part_again = await client.get("/static-page", headers={"X-Part": "yes"})
    other = await client.get("/static-page", headers={"X-Part": "no"})

    assert page.text.startswith("<html>") and part.text.startswith("part")
    assert (part.headers["x-cache"], part_again.headers["x-cache"]) == ("MISS", "HIT")
    assert (other.headers["x-cache"], other.text) == ("HIT", page.text)
    assert page.headers["vary"] == part.headers["vary"] == "X-Part, Accept-Encoding"
    assert site.renders == 2


def scope(cookie: bytes) -> dict[str, object]:
    return {"headers": [(b"host", b"t"), (b"cookie", cookie)]}


def test_the_read_after_cookie_is_found_among_others() -> None:
    assert read_after_of(scope(b"a=1; cache-read-after=42; b=2")) == 42
    assert read_after_of(scope(b"cache-read-after=junk")) == 0
    assert read_after_of(scope(b"x-cache-read-after=7")) == 0
    assert read_after_of({"headers": []}) == 0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"9" * 5000, id="5000-digits"),
        pytest.param(b"9" * 20, id="past-63-bits"),
        pytest.param(b"-5", id="negative"),
        pytest.param(b"\xc2\xb2", id="a-superscript-two"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_read_after_cookie_that_is_no_clock_counts_as_none(value: bytes) -> None:
    assert read_after_of(scope(b"cache-read-after=" + value)) == 0


def test_the_longest_clock_is_read_and_a_longer_number_is_none() -> None:
    longest = 10**CLOCK_DIGITS_MAX - 1  # 18 digits: below 2**63, and the edge's integers
    assert read_after_of(scope(b"cache-read-after=" + str(longest).encode())) == longest
    assert read_after_of(scope(b"cache-read-after=" + str(longest + 1).encode())) == 0


def test_cookie_of_reads_one_cookie() -> None:
    scope = {"headers": [(b"cookie", b"a=1; session=abc; b=2"), (b"x", b"session=no")]}
    assert cookie_of(scope, "session") == b"abc"
    assert cookie_of(scope, "missing") is None
    assert cookie_of({"headers": [(b"cookie", b"xsession=1")]}, "session") is None


def _split_reading(header: bytes, name: bytes) -> bytes | None:
    """The plain reading ``cookie_of`` must agree with: split, strip, compare
    (a part without ``=`` names no cookie)."""
    for part in header.split(b";"):
        key, equals, value = part.strip().partition(b"=")
        if key == name and equals:
            return value
    return None


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"session=abc", id="alone"),
        pytest.param(b"a=1;session=abc;b=2", id="no-blanks"),
        pytest.param(b"a=1; \t session=abc  ; b=2", id="blanks-around"),
        pytest.param(b"session= abc", id="blank-after-equals-kept"),
        pytest.param(b"xsession=1; session=2", id="a-name-ending-in-it-first"),
        pytest.param(b"a=session=1; session=2", id="inside-a-value-first"),
        pytest.param(b"a=b session=1; session=2", id="after-a-blank-in-a-value"),
        pytest.param(b"session=1; session=2", id="first-of-two"),
        pytest.param(b"session=", id="empty"),
        pytest.param(b"a=1; session", id="no-equals"),
        pytest.param(b"session; session=2", id="no-equals-first"),
        pytest.param(b"a=session=1", id="only-inside-a-value"),
    ],
)
def test_cookie_of_agrees_with_splitting_the_header(header: bytes) -> None:
    assert cookie_of({"headers": [(b"cookie", header)]}, "session") == _split_reading(
        header, b"session"
    )


def test_a_request_key_holds_each_header_it_answers_by_in_its_own_field() -> None:
    """``request_key`` fills the fields by position: each lands where it belongs."""
    scope = {
        "path": "/p",
        "query_string": b"b=2&a=1",
        "headers": [
            (b"x-part", b"yes"),
            (b"if-none-match", b'"e"'),
            (b"accept-encoding", b"br"),
            (b"cookie", b"cache-read-after=12; who=ada"),
            (b"x-cache-read-after", b"34"),
            (b"surrogate-capability", b'edge="ESI/1.0"'),
        ],
    }
    plain = {"path": "/p", "query_string": b"", "headers": [(b"surrogate-capability", b"x")]}

    assert request_key(scope, VARIANTS) == RequestKey(
        key="/p?a=1&b=2 part",
        variant="part",
        if_none_match=b'"e"',
        accept_encoding=b"br",
        vary=VARIANTS.vary_header,
        read_after=34,
        heard=0,
        visitor=None,
        esi=True,
        tagged=True,
        has_cookie=True,
    )
    assert request_key(plain, ONE_VARIANT) == RequestKey(
        key="/p? page", vary=ONE_VARIANT.vary_header, tagged=True
    )
