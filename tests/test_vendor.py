"""Vendored scripts are exactly the published files."""

from __future__ import annotations

import base64
import hashlib

import pytest

from app.settings import ROOT


@pytest.mark.parametrize(
    ("path", "sha384"),
    [
        pytest.param(
            "static/vendor/htmx-2.0.11.min.js",
            "2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg",
            id="htmx-2.0.11",
        ),
        pytest.param(
            "static/vendor/uPlot-1.6.32.iife.min.js",
            "Gx3t0zdBAuQOuvvmaLZj7HKEiSgWTAs+VdtNY7wt19QDPTDQjFIwAuXDj0zeN00c",
            id="uPlot-1.6.32-js",
        ),
        pytest.param(
            "static/vendor/uPlot-1.6.32.min.css",
            "IfV0B7MIOYuO95kO9G5ySKPz/85zqFNOAs8iy4tkK5zd9izhJAB8b7lHrwYqqmYE",
            id="uPlot-1.6.32-css",
        ),
    ],
)
def test_vendored_file_checksum(path: str, sha384: str) -> None:
    digest = hashlib.sha384((ROOT / path).read_bytes()).digest()
    assert base64.b64encode(digest).decode() == sha384


def test_pages_load_the_vendored_htmx_with_history_restore_as_full_page() -> None:
    base = (ROOT / "templates" / "base.html").read_text()
    assert "vendor/htmx-2.0.11.min.js" in base  # a plain /static/ path or a static() URL
    assert '"historyRestoreAsHxRequest": false' in base
