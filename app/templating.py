"""Jinja2 set-up: one environment, autoescaped, with the path helpers as globals."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app import paths
from app.models import TicketStatus
from app.settings import ROOT

environment = Environment(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    auto_reload=False,
)
environment.globals.update(
    {name: getattr(paths, name) for name in dir(paths) if name.endswith("_path")}
)
environment.globals["statuses"] = list(TicketStatus)  # every status select and badge


def render(template_name: str, *, block: str | None = None, **context: Any) -> str:
    """The whole template, or only one of its blocks (a page's fragment)."""
    template = environment.get_template(template_name)
    if block is None:
        return template.render(context)
    render_block = template.blocks[block]
    return "".join(render_block(template.new_context(context)))
