"""What the cache answers: the variant the client accepts, its ETag, 304s, Vary."""

from __future__ import annotations

import httpx
import pytest

from app.cache.answers import ANSWERS_PER_ENTRY_MAX, cached_answer
from app.cache.context import RequestKey
from app.cache.encoding import compress
from app.cache.entry import Entry
from app.cache.served import CacheStatus
from tests.cache.helpers import Site

BODY = b"<li>a ticket row, much like the next one</li>\n" * 100


async def test_static_route_miss_hit_and_304(site: Site, client: httpx.AsyncClient) -> None:
    miss = await client.get("/static-page")
    hit = await client.get("/static-page")
    not_modified = await client.get("/static-page", headers={"If-None-Match": hit.headers["etag"]})
    star = await client.get("/static-page", headers={"If-None-Match": "*"})

    assert (miss.headers["x-cache"], hit.headers["x-cache"]) == ("MISS", "HIT")
    assert miss.text == hit.text
    assert (not_modified.status_code, star.status_code) == (304, 304)
    assert site.renders == 1


async def test_a_hit_sends_the_stored_variant_the_client_accepts(
    site: Site, client: httpx.AsyncClient
) -> None:
    site.size = 20_000
    plain = await client.get("/static-page", headers={"Accept-Encoding": "identity"})
    br = await client.get("/static-page", headers={"Accept-Encoding": "gzip, br"})
    gz = await client.get("/static-page", headers={"Accept-Encoding": "gzip"})

    assert (plain.headers["x-cache"], br.headers["x-cache"], gz.headers["x-cache"]) == (
        "MISS",
        "HIT",
        "HIT",
    )
    assert "content-encoding" not in plain.headers
    assert (br.headers["content-encoding"], gz.headers["content-encoding"]) == ("br", "gzip")
    assert br.text == gz.text == plain.text  # httpx decodes both
    assert int(br.headers["content-length"]) * 5 < int(plain.headers["content-length"])
    assert len({plain.headers["etag"], br.headers["etag"], gz.headers["etag"]}) == 3
    assert br.headers["vary"] == "X-Part, Accept-Encoding"
    assert site.renders == 1


async def test_if_none_match_is_judged_against_the_variant_sent(
    site: Site, client: httpx.AsyncClient
) -> None:
    site.size = 20_000
    gz = await client.get("/static-page", headers={"Accept-Encoding": "gzip"})
    plain_etag = (await client.get("/static-page", headers={"Accept-Encoding": ""})).headers["etag"]

    same = await client.get(
        "/static-page", headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["etag"]}
    )
    other = await client.get(
        "/static-page", headers={"Accept-Encoding": "gzip", "If-None-Match": plain_etag}
    )

    assert same.status_code == 304 and same.headers["content-encoding"] == "gzip"
    assert other.status_code == 200 and other.headers["etag"] == gz.headers["etag"]


async def test_every_cached_answer_says_what_it_varies_by(
    site: Site, client: httpx.AsyncClient
) -> None:
    miss = await client.get("/static-page")
    hit = await client.get("/static-page")
    not_modified = await client.get("/static-page", headers={"If-None-Match": hit.headers["etag"]})
    bypass = await client.get("/live")

    assert hit.headers["x-cache"] == "HIT" and not_modified.status_code == 304
    for answer in (miss, hit, not_modified, bypass):
        assert answer.headers["vary"] == "X-Part, Accept-Encoding"


@pytest.mark.parametrize("if_none_match", ['"other"', 'W/"other", "another"', "", "garbage"])
async def test_an_if_none_match_that_does_not_match_gets_the_body(
    client: httpx.AsyncClient, if_none_match: str
) -> None:
    first = await client.get("/static-page")

    answer = await client.get("/static-page", headers={"If-None-Match": if_none_match})

    assert answer.status_code == 200
    assert answer.text == first.text


def test_answers_are_kept_per_kind_but_a_flood_of_kinds_is_not() -> None:
    entry = Entry(
        key="k", body=BODY, tags=frozenset(), snapshot=0, created_at=0.0, encoded=compress(BODY)
    )
    kinds = [f"gzip;q=0.{n}".encode() for n in range(1, 10)] + [b"br"]

    answers = [
        cached_answer(CacheStatus.HIT, BODY, entry, RequestKey("k", accept_encoding=ae))
        for ae in kinds
    ]
    again = cached_answer(
        CacheStatus.HIT, BODY, entry, RequestKey("k", accept_encoding=b"gzip;q=0.1")
    )

    assert again is answers[0]  # the kept answer itself: no work on a HIT
    assert entry.derived.answers is not None
    assert len(entry.derived.answers) == ANSWERS_PER_ENTRY_MAX  # and no more, however many come
    assert [dict(headers)[b"content-encoding"] for _, headers, _ in answers] == [b"gzip"] * 9 + [
        b"br"
    ]
    assert answers[-1][2] == dict(entry.encoded)["br"]  # an answer not kept is still right
