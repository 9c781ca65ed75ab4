"""Descriptions as a small, safe Markdown (app/rich_text.py): what people type
reads as they meant it, and nothing they type runs."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from starlette.applications import Starlette

from app.rich_text import TAGS, render_markdown
from tests.helpers import add_ticket


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        pytest.param(
            "**bold** and _em_", "<p><strong>bold</strong> and <em>em</em></p>", id="emphasis"
        ),
        pytest.param("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>", id="list"),
        pytest.param("Run `make`", "<p>Run <code>make</code></p>", id="code"),
        pytest.param("# Steps", "<h3>Steps</h3>", id="heading-under-the-page-outline"),
        pytest.param(
            "See https://example.com/a?b=1",
            '<p>See <a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer ugc">'
            "https://example.com/a?b=1</a></p>",
            id="bare-url-becomes-a-link",
        ),
    ],
)
def test_markdown_reads_as_meant(typed: str, shown: str) -> None:
    assert str(render_markdown(typed)).strip() == shown


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("<script>alert(1)</script>", id="script"),
        pytest.param("<img src=x onerror=alert(1)>", id="handler"),
        pytest.param("[click](javascript:alert(1))", id="javascript-link"),
        pytest.param("[click](data:text/html;base64,PHNjcmlwdD4=)", id="data-link"),
        pytest.param('<a href="https://x" onclick="alert(1)">x</a>', id="raw-anchor"),
        pytest.param("<iframe src=https://example.com></iframe>", id="iframe"),
        pytest.param("<style>body{display:none}</style>", id="style"),
    ],
)
def test_nothing_typed_becomes_live_markup(hostile: str) -> None:
    elements = _elements(str(render_markdown(hostile)))

    assert {tag for tag, _ in elements} <= TAGS, elements
    for _, attributes in elements:
        assert not any(name.startswith("on") for name in attributes), attributes
        href = attributes.get("href") or ""
        assert href.startswith(("http:", "https:", "mailto:")) or not href, href


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every element of ``html``, as a browser's parser sees it."""
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


async def test_a_ticket_page_shows_its_description_rendered(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Tray", content="1. **Open** it\n2. <b>look</b>")
    page = await visitor.get(f"/tickets/{ticket.id}")

    assert page.status_code == 200
    assert (
        "<ol>\n<li><strong>Open</strong> it</li>\n<li>&lt;b&gt;look&lt;/b&gt;</li>\n</ol>"
        in page.text
    )
