"""What the app tells the cache about htmx: the variant each request wants."""

from __future__ import annotations

import pytest

from app.htmx import PAGE, PARTIAL, VARIANTS, variant_of
from app.settings import ROOT


@pytest.mark.parametrize(
    ("headers", "variant"),
    [
        pytest.param({}, PAGE, id="plain"),
        pytest.param({b"hx-request": b"true"}, PARTIAL, id="htmx"),
        pytest.param({b"hx-request": b"false"}, PAGE, id="htmx-false"),
        pytest.param(
            {b"hx-request": b"true", b"hx-history-restore-request": b"true"},
            PAGE,
            id="history-restore",
        ),
    ],
)
def test_variant_of_a_request(headers: dict[bytes, bytes], variant: str) -> None:
    assert variant_of(headers) == variant


def test_the_cache_varies_on_the_headers_htmx_sends_and_the_session() -> None:
    # Both headers variant_of reads, so no cache keys one variant under another.
    assert VARIANTS.vary == ("HX-Request", "HX-History-Restore-Request", "Cookie")


def test_the_cache_library_reads_no_htmx_header() -> None:
    sources = {path.name: path.read_text().lower() for path in (ROOT / "app/cache").glob("*.py")}

    assert [name for name, text in sources.items() if "hx-" in text] == []
