"""Text people type, shown as the small Markdown they expect, and never as markup
they could inject: the one renderer of descriptions (and, later, comments).

markdown-it-py parses CommonMark with raw HTML off (a ``<script>`` typed in a
description stays text) and linkify on (a pasted URL becomes a link); nh3
(ammonia, in Rust) then keeps only the tags and attributes below, and links
only to ``http``, ``https`` and ``mailto``: the second lock, should the
parser ever let something through. Headings are shown one level down
(``#`` is an ``h3``): the page's own headings stay the outline.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

TAGS = frozenset(
    {"p", "br", "hr", "em", "strong", "del", "code", "pre", "blockquote", "a"}
    | {"ul", "ol", "li", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
)
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer ugc"
HEADING_SHIFT = 2  # "#" in a description is an h3 under the page's h1 and h2

_parser = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["linkify", "table", "strikethrough"]
)


def _shift_headings(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    token.tag = f"h{min(int(token.tag[1]) + HEADING_SHIFT, 6)}"
    return renderer.renderToken(tokens, idx, options, env)


_parser.add_render_rule("heading_open", _shift_headings)
_parser.add_render_rule("heading_close", _shift_headings)


@functools.lru_cache(maxsize=1024)  # a ticket page renders its description once per entry
def render_markdown(text: str) -> Markup:
    """``text`` as sanitised HTML: paragraphs, emphasis, code, links, lists, quotes."""
    html = _parser.render(text)
    clean = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
    )
    return Markup(clean)
