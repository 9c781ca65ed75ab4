"""Encodings (br, gzip): made once when an entry is made, chosen per request."""

from __future__ import annotations

import gzip

import brotli  # type: ignore[import-untyped]
import pytest

from app.cache.encoding import MIN_COMPRESS_BYTES, choose, compress, weights
from app.cache.entry import ENCODED_OVERHEAD_BYTES, Entry

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
