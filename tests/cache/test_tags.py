"""Tag limits and the tags that paths give a render."""

from __future__ import annotations

import pytest

from app.cache import TagError
from app.cache.scope import RenderScope
from app.cache.tags import (
    MAX_TAG_LENGTH,
    MAX_TAGS_PER_ENTRY,
    path_tag_for,
    path_tags_of,
    validate_tag,
)


def test_path_tags_of_a_ticket_page() -> None:
    assert path_tags_of("/tickets/42", "/tickets/{id}") == (
        "path:/tickets/42",
        "route:/tickets/{id}",
        "layout:/",
        "layout:/tickets",
        "layout:/tickets/42",
    )


def test_a_routes_convertor_is_no_part_of_its_tag() -> None:
    assert path_tags_of("/tickets/42", "/tickets/{id:int}")[1] == "route:/tickets/{id}"
    assert path_tag_for("/tickets/{id:int}", "page") == "route:/tickets/{id}"


def test_path_tags_of_the_root_without_a_route() -> None:
    assert path_tags_of("/", None) == ("path:/", "layout:/")


@pytest.mark.parametrize(
    ("path", "type", "tag"),
    [
        pytest.param("/tickets", None, "path:/tickets", id="page"),
        pytest.param("/tickets/", None, "path:/tickets", id="trailing-slash"),
        pytest.param("/tickets/{id}", "page", "route:/tickets/{id}", id="route"),
        pytest.param("/tickets", "layout", "layout:/tickets", id="layout"),
    ],
)
def test_path_revalidation_tag(path: str, type: str | None, tag: str) -> None:
    assert path_tag_for(path, type) == tag  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "type", "message"),
    [
        pytest.param("/tickets/{id}", None, "is a route pattern", id="pattern-without-type"),
        pytest.param("tickets", None, "must start with '/'", id="relative"),
        pytest.param("/tickets", "segment", "must be 'page' or 'layout'", id="bad-type"),
    ],
)
def test_path_revalidation_errors(path: str, type: str | None, message: str) -> None:
    with pytest.raises(TagError, match=message):
        path_tag_for(path, type)  # type: ignore[arg-type]


def test_a_long_tag_is_shortened_by_a_hash_not_refused() -> None:
    assert validate_tag("x" * MAX_TAG_LENGTH) == "x" * MAX_TAG_LENGTH
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    assert len(validate_tag(long_a)) == MAX_TAG_LENGTH
    assert validate_tag(long_a) == validate_tag(long_a)  # recorded and bumped alike
    assert validate_tag(long_a) != validate_tag(long_b)  # one start, two tags
    with pytest.raises(TagError, match="non-empty string"):
        validate_tag("")


def test_tag_count_limit() -> None:
    scope = RenderScope(snapshot=0)
    scope.add_tags([f"t{i}" for i in range(MAX_TAGS_PER_ENTRY)])
    with pytest.raises(TagError, match="513 tags; the limit is 512"):
        scope.add_tags(["one-more"])
