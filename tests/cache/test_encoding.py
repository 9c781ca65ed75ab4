"""Encodings (br, gzip): each made once per entry, chosen per request.

Made with the entry for a shared store (every process reads them), else on the
first request that asks for each: no render pays for an encoding nobody asked.
"""

from __future__ import annotations

import gzip

import brotli  # type: ignore[import-untyped]
import pytest

from app.cache import MemoryStore
from app.cache.encoding import CODERS, MIN_COMPRESS_BYTES, choose, coding_for, compress, weights
from app.cache.entry import ENCODED_OVERHEAD_BYTES, Entry
from tests.cache.helpers import Site, client_of

BODY = b"<li>a ticket row, much like the next one</li>\n" * 100


def test_a_body_is_stored_as_brotli_and_gzip_that_decode_back() -> None:
    encoded = dict(compress(BODY))

    assert list(encoded) == ["br", "gzip"]  # best first
    assert brotli.decompress(encoded["br"]) == BODY
    assert gzip.decompress(encoded["gzip"]) == BODY
    assert len(encoded["br"]) * 5 < len(BODY)


def test_a_small_body_is_not_compressed() -> None:
    assert compress(b"x" * (MIN_COMPRESS_BYTES - 1)) == ()


def test_weights_parse_q_values_and_wildcards() -> None:
    assert weights(b"gzip;q=0.5, BR;q=0, *") == {"gzip": 0.5, "br": 0.0, "*": 1.0}
    assert weights(b"gzip;q=nonsense, ,identity") == {"gzip": 0.0, "identity": 1.0}


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        pytest.param(b"gzip, deflate, br, zstd", "br", id="browser"),
        pytest.param(b"gzip", "gzip", id="gzip-only"),
        pytest.param(b"br;q=0, gzip", "gzip", id="br-refused"),
        pytest.param(b"*", "br", id="anything"),
        pytest.param(b"br;q=0, *", "gzip", id="anything-but-br"),
        pytest.param(b"*;q=0, identity", None, id="identity-only"),
        pytest.param(b"deflate", None, id="nothing-we-have"),
        pytest.param(b"", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_choose_picks_the_best_accepted_variant(
    accept_encoding: bytes | None, expected: str | None
) -> None:
    chosen = choose(compress(BODY), accept_encoding)

    assert (chosen[0] if chosen else None) == expected
    assert coding_for(accept_encoding) == expected  # the same pick, before any is made


def test_each_variant_has_its_own_strong_etag_and_counts_in_the_size() -> None:
    plain = Entry(key="k", body=BODY, tags=frozenset(), snapshot=0, created_at=0.0)
    entry = Entry(
        key="k", body=BODY, tags=frozenset(), snapshot=0, created_at=0.0, encoded=compress(BODY)
    )

    encoding, body, etag = entry.encoded_for(b"gzip")
    assert (encoding, gzip.decompress(body)) == ("gzip", BODY)
    assert etag == entry.etag[:-1] + '-gzip"'
    assert entry.encoded_for(None) == (None, BODY, entry.etag)
    assert entry.size == plain.size + sum(
        ENCODED_OVERHEAD_BYTES + len(body) for _, body in entry.encoded
    )


@pytest.fixture
def coded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each encoding made from now on, in order."""
    made: list[str] = []
    for name, coder in list(CODERS.items()):

        def counted(body: bytes, name: str = name, coder: object = coder) -> bytes:
            made.append(name)
            return coder(body)  # type: ignore[operator, no-any-return]

        monkeypatch.setitem(CODERS, name, counted)
    return made


async def test_a_render_makes_no_encoding_and_each_is_made_on_its_first_ask(
    coded: list[str],
) -> None:
    site = Site()
    site.size = 20_000  # worth compressing
    async with client_of(site.app) as client:
        first = await client.get("/static-page", headers={"Accept-Encoding": "identity"})
        rendered = list(coded)
        br = [await client.get("/static-page", headers={"Accept-Encoding": "br"}) for _ in range(2)]
        zipped = await client.get("/static-page", headers={"Accept-Encoding": "gzip"})
        again = await client.get("/static-page", headers={"Accept-Encoding": "gzip, br"})

    assert first.headers["x-cache"] == "MISS" and rendered == []
    assert coded == ["br", "gzip"]  # once each, when first asked
    assert [r.headers["content-encoding"] for r in [*br, zipped, again]] == [
        "br",
        "br",
        "gzip",
        "br",
    ]
    assert br[0].text == br[1].text == zipped.text == again.text == first.text
    assert br[0].headers["etag"] == again.headers["etag"] != zipped.headers["etag"]
    assert first.headers["etag"] not in (br[0].headers["etag"], zipped.headers["etag"])


async def test_a_small_body_is_never_compressed_when_asked(coded: list[str]) -> None:
    site = Site()
    site.size = 0
    async with client_of(site.app) as client:
        answers = [
            await client.get("/static-page", headers={"Accept-Encoding": "br"}) for _ in range(2)
        ]

    assert [a.headers.get("content-encoding") for a in answers] == [None, None]
    assert coded == []


class SharedStore(MemoryStore):
    """A store as every process of a cluster reads it (Redis): made once, for all."""

    shared = True


async def test_a_shared_store_gets_every_encoding_made_with_the_entry(coded: list[str]) -> None:
    site = Site(SharedStore(1 << 20))
    site.size = 20_000
    async with client_of(site.app) as client:
        await client.get("/static-page", headers={"Accept-Encoding": "identity"})
        made = list(coded)
        zipped = await client.get("/static-page", headers={"Accept-Encoding": "gzip"})
    found = await site.cache.lookup("/static-page? page")

    assert made == ["br", "gzip"] and coded == made  # nothing more on the HIT
    assert found is not None and [name for name, _ in found[0].encoded] == ["br", "gzip"]
    assert zipped.headers["content-encoding"] == "gzip"
