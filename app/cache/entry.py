"""A cached body and what decides whether it may still be served."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from app.cache.derived import Decoding, Derived
from app.cache.encoding import MIN_COMPRESS_BYTES, Encoded, choose, coding_for, compress_as

T = TypeVar("T")

# What an entry costs in memory beyond the length of its strings, measured
# with tracemalloc (tests/cache/test_memory.py holds the bound to it): the
# entry object and its ETag, its places in the store's maps and stamp cache
# (ENTRY_OVERHEAD_BYTES); each str's and bytes' own header; each tag's slot in
# its set. Charged, so that the byte bound is the memory the entries take.
ENTRY_OVERHEAD_BYTES = 600
STR_OVERHEAD_BYTES = 49
BYTES_OVERHEAD_BYTES = 33
TAG_OVERHEAD_BYTES = STR_OVERHEAD_BYTES + 32
ENCODED_OVERHEAD_BYTES = BYTES_OVERHEAD_BYTES + 64  # and its (encoding, body) pair


Public = Callable[["Entry"], bytes]  # an entry's body as anyone gets it (holes filled for nobody)


class Freshness(enum.Enum):
    FRESH = "fresh"  # serve it
    STALE = "stale"  # serve it once more, and refresh it in the background
    EXPIRED = "expired"  # never serve it: render again and wait


@dataclass(frozen=True, slots=True)
class Entry:
    """One rendered body.

    ``snapshot`` is the store's clock read before the render read any data;
    the entry is fresh while none of its tags has been bumped since.
    ``expires_at`` (monotonic seconds) is set for timed entries only.
    Its ``etag`` is made of its body on first ask (``Derived.etag``), unless
    given (a shared store's copy keeps the one its writer made): most entries
    are parts of a page (a list's window, its rows) whose body is never sent
    alone, and hashing the list's ~100 kB window cost every write's next read.
    A ``compressible`` entry (an HTTP response) is sent in the encoding its
    reader accepts, each with an ETag of its own: ``encoded`` holds them made
    once, with the entry, when a shared store keeps it for every process;
    otherwise each is made on its first ask, and kept with the entry in this
    process (``Derived.encoded``), so no render pays for what nobody asked.
    """

    key: str
    body: bytes
    tags: frozenset[str]
    snapshot: int
    created_at: float
    revalidate: float | None = None
    content_type: str = "text/html; charset=utf-8"
    # "": made of the body on first ask (etag); whether given or made, the same ETag
    given_etag: str = field(default="", compare=False)
    encoded: Encoded = ()
    compressible: bool = False
    made_by: str = ""  # which render: "host:pid #n" (the cache inspector shows it)
    # What is made of it on first use, in this process only (app/cache/derived.py).
    derived: Derived = field(default_factory=Derived, compare=False, repr=False)

    @property
    def etag(self) -> str:
        """The strong ETag of its plain body: 128 bits of its SHA-256, which
        this machine's CPU hashes in hardware, at about twice blake2b's speed
        (bench/README.md)."""
        if self.given_etag:
            return self.given_etag
        made = self.derived.etag
        if made is None:
            made = self.derived.etag = f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'
        return made

    @property
    def expires_at(self) -> float | None:
        return None if self.revalidate is None else self.created_at + self.revalidate

    @property
    def size(self) -> int:
        return (
            ENTRY_OVERHEAD_BYTES
            + STR_OVERHEAD_BYTES
            + len(self.key)
            + BYTES_OVERHEAD_BYTES
            + len(self.body)
            + sum(ENCODED_OVERHEAD_BYTES + len(body) for _, body in self.encoded)
            + TAG_OVERHEAD_BYTES * len(self.tags)
            + sum(map(len, self.tags))
            + (STR_OVERHEAD_BYTES + len(self.made_by) if self.made_by else 0)
        )

    def encoded_for(
        self, accept_encoding: bytes | None, public: Public | None = None
    ) -> tuple[str | None, bytes, str]:
        """(encoding, body, etag) to send: the best encoding the client accepts
        (None: the plain body), each with a strong ETag of its own. A stored
        one, or one made on first ask of the body as ``public`` gives it to
        anyone (its holes filled for nobody), and kept (``Derived.encoded``)."""
        if self.encoded or not self.compressible:
            chosen = choose(self.encoded, accept_encoding)
            encoding, body = chosen if chosen is not None else (None, self.body)
            return encoding, body, self.etag_of(encoding)
        encoding = self.encoding_for(accept_encoding, public)
        if encoding is None:
            return None, self.body, self.etag
        made = self.derived.encoded
        if made is None:
            made = self.derived.encoded = {}
        coded = made.get(encoding)
        if coded is None:
            source = self.body if public is None else public(self)
            coded = made[encoding] = compress_as(encoding, source)
        return encoding, coded, self.etag_of(encoding)

    def encoding_for(
        self, accept_encoding: bytes | None, public: Public | None = None
    ) -> str | None:
        """The encoding ``encoded_for`` sends, without making it (None: plain)."""
        if self.encoded or not self.compressible:
            chosen = choose(self.encoded, accept_encoding)
            return None if chosen is None else chosen[0]
        encoding = coding_for(accept_encoding)
        if encoding is None:  # (the plain body: no need to make the public one)
            return None
        source = self.body if public is None else public(self)
        return None if len(source) < MIN_COMPRESS_BYTES else encoding

    def etag_of(self, encoding: str | None) -> str:
        """The strong ETag of its body in ``encoding`` (None: plain)."""
        return self.etag if encoding is None else f'{self.etag[:-1]}-{encoding}"'

    def decoded(self, decoding: Decoding[T]) -> T:
        """The body read by ``decoding``, once per entry (``Derived``)."""
        values = self.derived.decoded
        if values is None:
            values = self.derived.decoded = {}
        if decoding in values:
            found: T = values[decoding]
            return found
        value = values[decoding] = decoding.decode(self.body)
        return value


def freshness_of(entry: Entry, expired_at: int, stale_at: int, now: float) -> Freshness:
    """Whether ``entry`` may be served, given the latest stamps of its tags."""
    if expired_at > entry.snapshot:
        return Freshness.EXPIRED
    expires_at = entry.expires_at
    if stale_at > entry.snapshot or (expires_at is not None and now >= expires_at):
        return Freshness.STALE
    return Freshness.FRESH
