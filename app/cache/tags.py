"""Tag names: validation and the path tags that a request gives its renders.

A request for ``/tickets/42`` served by the route ``/tickets/{id}`` renders with::

    path:/tickets/42                          the page itself
    route:/tickets/{id}                       every page of that route
    layout:/  layout:/tickets  layout:/tickets/42   the layout chain

so that ``revalidate_path`` is just ``revalidate_tag`` of one of these.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Literal

from app.cache.errors import TagError

MAX_TAG_LENGTH = 256
# Derived dependencies name rows: a list window of up to 100 tickets names each
# ticket and each person it shows (author, assignee), a few hundred at most.
# The bound is for what no page should name (an unbounded loop of tags).
MAX_TAGS_PER_ENTRY = 512

PathType = Literal["page", "layout"]

_IMPLICIT_PREFIXES = ("path:", "route:", "layout:")
_CONVERTOR = re.compile(r"\{(\w+):[^}]*\}")


def validate_tag(tag: str) -> str:
    """The tag as stored: itself, or, past MAX_TAG_LENGTH, its start and a hash.

    A long tag is no error (a path tag of a long URL is one, whoever typed
    the URL): it is shortened the same way wherever it is recorded or bumped,
    so the two still meet, and two long tags with one start stay apart.
    """
    if not isinstance(tag, str) or not tag:
        raise TagError(f"a tag must be a non-empty string, got {tag!r}")
    if len(tag) > MAX_TAG_LENGTH:
        digest = hashlib.sha256(tag.encode()).hexdigest()
        return f"{tag[: MAX_TAG_LENGTH - len(digest) - 1]}#{digest}"
    return tag


def validate_tag_count(tags: Iterable[str]) -> None:
    count = len(set(tags))
    if count > MAX_TAGS_PER_ENTRY:
        raise TagError(f"an entry holds {count} tags; the limit is {MAX_TAGS_PER_ENTRY}")


def is_path_tag(tag: str) -> bool:
    return tag.startswith(_IMPLICIT_PREFIXES)


def page_tag(path: str) -> str:
    return "path:" + _normalise(path)


def route_tag(route_path: str) -> str:
    """A route pattern's tag."""
    return "route:" + route_pattern(route_path)


def route_pattern(route_path: str) -> str:
    """A route's name in tags and metrics labels: a parameter's convertor is
    no part of it (``/tickets/{id:uuid}`` is ``/tickets/{id}``)."""
    return _normalise(_CONVERTOR.sub(r"{\1}", route_path))


def layout_tag(path: str) -> str:
    return "layout:" + _normalise(path)


def path_tags_of(path: str, route_path: str | None) -> tuple[str, ...]:
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


def path_tag_for(path: str, type: PathType | None = None) -> str:
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
