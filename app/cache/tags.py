"""Tag names: validation and the implicit tags that paths give a render.

A request for ``/tickets/42`` served by the route ``/tickets/{id}`` renders with::

    path:/tickets/42                          the page itself
    route:/tickets/{id}                       every page of that route
    layout:/  layout:/tickets  layout:/tickets/42   the layout chain

so that ``revalidate_path`` is just ``revalidate_tag`` of one of these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from app.cache.errors import TagError

MAX_TAG_LENGTH = 256
MAX_TAGS_PER_ENTRY = 128

PathType = Literal["page", "layout"]

_IMPLICIT_PREFIXES = ("path:", "route:", "layout:")


def validate_tag(tag: str) -> str:
    if not isinstance(tag, str) or not tag:
        raise TagError(f"a tag must be a non-empty string, got {tag!r}")
    if len(tag) > MAX_TAG_LENGTH:
        raise TagError(f"tag is {len(tag)} characters long; the limit is {MAX_TAG_LENGTH}")
    return tag


def validate_tag_count(tags: Iterable[str]) -> None:
    count = len(set(tags))
    if count > MAX_TAGS_PER_ENTRY:
        raise TagError(f"an entry holds {count} tags; the limit is {MAX_TAGS_PER_ENTRY}")


def is_implicit(tag: str) -> bool:
    return tag.startswith(_IMPLICIT_PREFIXES)


def page_tag(path: str) -> str:
    return "path:" + _normalise(path)


def route_tag(route_path: str) -> str:
    return "route:" + _normalise(route_path)


def layout_tag(path: str) -> str:
    return "layout:" + _normalise(path)


def implicit_tags(path: str, route_path: str | None) -> tuple[str, ...]:
    """The tags every render inside a request for ``path`` carries."""
    path = _normalise(path)
    tags = [page_tag(path)]
    if route_path is not None:
        tags.append(route_tag(route_path))
    tags.append(layout_tag("/"))
    prefix = ""
    for segment in path.strip("/").split("/"):
        if segment:
            prefix += "/" + segment
            tags.append(layout_tag(prefix))
    return tuple(tags)


def path_revalidation_tag(path: str, type: PathType | None = None) -> str:
    """The one tag ``revalidate_path(path, type)`` bumps.

    Without a type, ``path`` is a concrete page. ``"page"`` takes a route
    pattern (``/tickets/{id}``) and reaches every page of it; ``"layout"``
    reaches every page at or under ``path``.
    """
    if type is None:
        if "{" in path:
            raise TagError(f"{path!r} is a route pattern; pass type='page' or type='layout'")
        return page_tag(path)
    if type == "page":
        return route_tag(path)
    if type == "layout":
        return layout_tag(path)
    raise TagError(f"revalidate_path type must be 'page' or 'layout', got {type!r}")


def _normalise(path: str) -> str:
    if not path.startswith("/"):
        raise TagError(f"a path must start with '/', got {path!r}")
    return path.rstrip("/") or "/"
