"""Static files: fingerprinted URLs that browsers may keep for a year."""

from __future__ import annotations

import re

import httpx
import pytest

from app.assets import FOREVER, static_files
from app.settings import ROOT


async def test_pages_link_static_files_by_fingerprint(client: httpx.AsyncClient) -> None:
    page = (await client.get("/tickets")).text

    linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)

    assert sorted(linked) == sorted(
        static_files.url(name)
        for name in (
            "favicon.svg",
            "app.css",
            "vendor/htmx-2.0.11.min.js",
            "live.js",
            "ui.js",
            "time.js",
            "bulk.js",
        )
    )
    assert all(re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", url) for url in linked)


async def test_a_fingerprinted_file_is_immutable_and_the_plain_name_revalidates(
    client: httpx.AsyncClient,
) -> None:
    fingerprinted = await client.get(static_files.url("app.css"))
    plain = await client.get("/static/app.css")

    assert fingerprinted.status_code == plain.status_code == 200
    assert fingerprinted.content == plain.content == (ROOT / "static" / "app.css").read_bytes()
    assert fingerprinted.headers["cache-control"] == FOREVER
    assert plain.headers["cache-control"] == "no-cache"


async def test_a_fingerprint_that_is_not_current_is_not_found(visitor: httpx.AsyncClient) -> None:
    response = await visitor.get("/static/app.000000000000.css")

    assert response.status_code == 404
    assert "cache-control" not in response.headers


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        pytest.param("gzip, deflate, br, zstd", "br", id="brotli-first"),
        pytest.param("gzip", "gzip", id="gzip"),
        pytest.param("br;q=0, gzip;q=0.5", "gzip", id="refused-brotli"),
        pytest.param("identity", None, id="plain"),
    ],
)
async def test_static_text_goes_out_compressed(
    visitor: httpx.AsyncClient, accept: str, coding: str | None
) -> None:
    raw = (ROOT / "static" / "vendor" / "htmx-2.0.11.min.js").read_bytes()
    answer = await visitor.get(
        static_files.url("vendor/htmx-2.0.11.min.js"), headers={"Accept-Encoding": accept}
    )

    assert answer.status_code == 200
    assert answer.headers.get("content-encoding") == coding
    assert answer.headers["vary"] == "Accept-Encoding"
    assert answer.content == raw  # httpx decodes br and gzip
    if coding:
        assert int(answer.headers["content-length"]) < len(raw) / 2
