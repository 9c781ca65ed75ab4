"""The module-level helpers feature code calls: they work on ``current_cache()``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.cache.engine import current_cache
from app.cache.served import InHandRender, Render
from app.cache.tags import PathType


async def revalidate_tag(tag: str, *, stale: bool = False) -> None:
    await current_cache().revalidate_tag(tag, stale=stale)


async def revalidate_path(path: str, type: PathType | None = None) -> None:
    await current_cache().revalidate_path(path, type)


async def fragment(
    name: str,
    render: Render,
    *args: object,
    tags: Iterable[str] = (),
    revalidate: float | None = None,
    dynamic: bool = False,
) -> str:
    """A named fragment's HTML, cached under its name and arguments.

    Rendered inside a page, it hands its tags to the page's entry.
    """
    served = await current_cache().serve(
        fragment_key(name, args), render, tags=tags, revalidate=revalidate, dynamic=dynamic
    )
    return served.body.decode()


async def fragments(name: str, parts: Sequence[tuple[object, InHandRender]]) -> list[str]:
    """Many fragments of one kind (a list's rows), read from the store in one round trip.

    ``parts`` pairs each fragment's argument (its key) with a function that
    renders it from data the enclosing render has already read; only the
    missing ones are rendered, then stored together (``Cache.serve_many``).
    """
    keys = [fragment_key(name, (arg,)) for arg, _ in parts]
    return await current_cache().serve_many(keys, [render for _, render in parts])


def fragment_key(name: str, args: tuple[object, ...]) -> str:
    return "fragment:" + name + "(" + ",".join(repr(arg) for arg in args) + ")"
