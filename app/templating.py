"""Jinja2 set-up: one environment, autoescaped, with the names templates share as globals.

Globals: every ``*_path`` helper, ``statuses``, ``ids`` (element ids),
``limits`` (field lengths), ``live(src)`` (the attributes of a live fragment),
``hole(src)`` (a per-person part of a page: app/holes.py), ``moment(dt)`` (a
``<time>``) and ``static(name)`` (a static file's fingerprinted URL).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from app import ids, paths
from app.assets import static_files
from app.cache import cache_tag, collected_tags, is_rendering
from app.deps.reads import rows_rendered
from app.models import COMMENT_MAX, CONTENT_MAX, TITLE_MAX, TicketStatus
from app.notices import quoted
from app.rich_text import render_markdown
from app.search import MAX_QUERY_CHARS
from app.security_headers import MARK_JS
from app.settings import ROOT

SITE_NAME = "Tickets, on-demand"  # every tab's title ends with it


def hole(src: str) -> Markup:
    """The marker of a hole (app/cache/holes.py): an ESI include of ``src``."""
    return Markup('<esi:include src="{}"/>').format(escape(src))


def live(src: str) -> Markup:
    """``data-live-tags`` and ``data-live-src`` of a live fragment's root element.

    The tags are the ones its render has collected by now (its data is read
    before its template renders), so they are never written by hand: static/live.js
    re-fetches ``src`` whenever an invalidation moves one of them.
    """
    tags = " ".join(collected_tags())
    return Markup('data-live-tags="{}" data-live-src="{}"').format(escape(tags), escape(src))


def moment(when: datetime) -> Markup:
    """A ``<time>`` that says ``when`` exactly, to the minute, in UTC.

    A cached body is served for hours, so it cannot say "3 minutes ago" (and the
    oracle compares it byte for byte with a fresh render): static/time.js turns
    the text relative in the browser and keeps the exact moment as its title.
    """
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    exact = f"{utc.day} {utc:%b %Y, %H:%M} UTC"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        f"{utc:%Y-%m-%dT%H:%M:%SZ}", exact, exact
    )


class PlainGlobals(Environment):
    """Each template's globals a plain dict, not Jinja's ``ChainMap`` over the
    environment's: every render copies them into its context, and copying a
    ``ChainMap`` (a Python-level lookup per name, ~54 names here) cost each
    render ~20 us, five times in a write's next read (bench/README.md). So a
    template sees the globals as they were when it was loaded: they are all
    set below, at import, before any template is loaded, and never after."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


environment = PlainGlobals(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    auto_reload=False,
)
environment.filters["quoted"] = quoted  # {{ title | quoted }}: “A title”, cut short
environment.filters["markdown"] = render_markdown  # {{ text | markdown }}: sanitised HTML
environment.globals.update(
    {name: getattr(paths, name) for name in dir(paths) if name.endswith("_path")}
)
environment.globals.update(
    statuses=list(TicketStatus),  # every status select and badge
    ids=ids,
    limits=SimpleNamespace(
        title=TITLE_MAX, content=CONTENT_MAX, search=MAX_QUERY_CHARS, comment=COMMENT_MAX
    ),
    live=live,
    hole=hole,
    moment=moment,
    site_name=SITE_NAME,
    static=static_files.url,  # {{ static("app.css") }}: a fingerprinted URL
    mark_js=Markup(MARK_JS),  # the one inline script, allowed by its hash (app/security_headers.py)
)


def render_page(template_name: str, *, partial: bool, **context: Any) -> str:
    """A page; or its partial (what htmx swaps into ``#main``): its ``main`` block,
    led by its ``<title>``, which htmx moves to the tab."""
    if not partial:
        return render(template_name, **context)
    title = render(template_name, block="title", **context)
    return f"<title>{title} · {SITE_NAME}</title>" + render(template_name, block="main", **context)


def render(template_name: str, *, block: str | None = None, **context: Any) -> str:
    """The whole template, or only one of its blocks (a page's partial).

    The rows of the entities it is given are dependencies of the render in
    progress (app/deps): a row's fragment, rendered from what its list read,
    depends on its ticket without a query of its own.
    """
    if is_rendering():
        cache_tag(*rows_rendered(context.values()))
    template = environment.get_template(template_name)
    if block is None:
        return template.render(context)
    render_block = template.blocks[block]
    return "".join(render_block(template.new_context(context)))
