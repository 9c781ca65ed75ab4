"""What is worked out of an entry once, and kept with it in this process.

A body is stored; what is made of it on the way out (its holes' pieces, its
public body, whole answers, the app's own decoded values) is kept beside the
``Entry`` object (``Entry.derived``), never in the store: a HIT on an entry
already answered once is a lookup. A shared store hands out a new ``Entry``
per read, so there it is worked out again (``Holes`` also keeps the costly
parts by ETag).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.cache.types import Answer, AnswerKind, Headers

T = TypeVar("T")


@dataclass(frozen=True, eq=False, slots=True)
class Decoding(Generic[T]):
    """How the app reads an entry's body into a value of its own.

    Made once, at import, and passed to ``Entry.decoded``, which decodes each
    entry's body once with it and hands the same value back after that. The
    ``Decoding`` object itself is the memo's key (by identity), so two apps'
    values never mix and each is typed::

        VIEWER = Decoding(lambda body: Viewer(*json.loads(body)))
        viewer = entry.decoded(VIEWER)  # a Viewer
    """

    decode: Callable[[bytes], T]


@dataclass(eq=False, slots=True)
class Derived:
    """An entry's memo. Each slot is None until first used: most entries
    (fragments) never need one, and an entry's memory is bounded by the store."""

    etag: str | None = None  # its ETag, made on first ask (Entry.etag)
    pieces: list[bytes] | None = None  # the body cut at its holes (app/cache/holes.py)
    public: bytes | None = None  # the body with its anonymous fills
    named: frozenset[str] | None = None  # the audiences of its holes (Holes.audience)
    # Whole answers, by kind (app/cache/answers.py); at most ANSWERS_PER_ENTRY_MAX.
    answers: dict[AnswerKind, Answer] | None = None
    # A known visitor's plain HIT, by its Vary (the app's, one or two): the
    # headers every one of them shares (all but their ETag and length).
    personal: dict[bytes, Headers] | None = None
    decoded: dict[Decoding[Any], Any] | None = None  # the app's values (Entry.decoded)
    # Its encodings made on first ask (app/cache/answers.py), by name; b"": too small to gain.
    encoded: dict[str, bytes] | None = None
