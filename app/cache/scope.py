"""The render scope: what a render collects while it runs.

A render runs with a ``RenderScope`` in a contextvar. Queries and templates call
``cache_tag()`` to add the tags of the data they read; a fragment rendered (or
served from the cache) inside another render hands its tags, snapshot and
lifetime up, so a page is invalidated whenever one of its fragments is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from app.cache.entry import Entry
from app.cache.tags import is_path_tag, validate_tag, validate_tag_count


@dataclass(slots=True)
class RenderScope:
    snapshot: int
    tags: set[str] = field(default_factory=set)  # its own and those of what it embeds
    own_tags: set[str] = field(default_factory=set)  # from its own reads (cache_tag)
    embedded_tags: set[str] = field(default_factory=set)  # those of the entries it embeds
    # The earliest moment any part of the body stops being fresh (monotonic).
    expires_at: float | None = None
    # A dynamic part was rendered inside: the body must not be stored.
    dynamic: bool = False

    def add_tags(self, tags: tuple[str, ...] | frozenset[str] | list[str]) -> None:
        for tag in tags:
            stored = validate_tag(tag)
            self.tags.add(stored)
            self.own_tags.add(stored)
        validate_tag_count(self.tags)

    def absorb(self, entry: Entry) -> None:
        """Take in the tags and lifetime of a nested entry.

        The nested entry's path tags belong to the request it was first
        rendered in, not to this one, so they stay behind. The snapshot is
        left alone: a nested entry found fresh now has had no bump of its
        tags since its own snapshot, so this scope's later one covers it
        (a nested render joined in flight lowers it, see ``Cache.serve``).
        """
        self.tags.update(tag for tag in entry.tags if not is_path_tag(tag))
        self.embedded_tags.update(entry.tags)
        validate_tag_count(self.tags)
        self.shorten(entry.expires_at)

    def shorten(self, expires_at: float | None) -> None:
        if expires_at is not None and (self.expires_at is None or expires_at < self.expires_at):
            self.expires_at = expires_at


_current: ContextVar[RenderScope | None] = ContextVar("render_scope", default=None)


def current_scope() -> RenderScope | None:
    return _current.get()


@contextmanager
def render_scope(scope: RenderScope | None) -> Iterator[RenderScope | None]:
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def is_rendering() -> bool:
    """Whether a render collects tags here: what a database hook asks before it
    works out what a read depends on (nothing to do outside a render)."""
    return _current.get() is not None


def cache_tag(*tags: str) -> None:
    """Tag the render in progress with the data it reads; outside one, a no-op.

    Being a no-op outside a render lets the same query serve actions and
    dynamic routes, which have nothing to tag.
    """
    scope = _current.get()
    if scope is not None:
        scope.add_tags(tags)


def collected_tags() -> tuple[str, ...]:
    """The data tags the render in progress collected from its own reads, sorted.

    Path tags are left out (they name the request, not the data), and so are
    the tags of fragments it embeds, even where its own reads hold them too
    (a list read the rows its row fragments show): a live fragment inside a
    live fragment refreshes itself. A live fragment's template calls this after its data
    is read, so the tags it declares to the page's script are the ones its
    render really holds.
    """
    scope = _current.get()
    if scope is None:
        return ()
    own = scope.own_tags - scope.embedded_tags
    return tuple(sorted(tag for tag in own if not is_path_tag(tag)))
