"""Encodings (content codings, br and gzip): a body is compressed once per encoding.

An entry's encodings are made with it when a shared store keeps them for
every process, else each on the first request that asks for it
(``app/cache/answers.py``); a HIT after that only picks the one the client
accepts and never compresses. Brotli is preferred where accepted, gzip
everywhere else. The first read after an invalidation pays for the one it
asks, on the path from a write to its first fresh read, so their levels are
set by time as much as size (the measurements behind them: bench/README.md).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable

import brotli  # type: ignore[import-untyped]  # ships no type hints

# Below this, the encoding's own overhead eats most of what it saves.
MIN_COMPRESS_BYTES = 1024
BROTLI_QUALITY = 5
GZIP_LEVEL = 3
# A known visitor's body is compressed for them alone, once per page they read
# (app/cache/answers.py): a writer's next read pays it whole, so there fast
# beats small (bench/README.md).
PERSONAL_BROTLI_QUALITY = 1

Encoded = tuple[tuple[str, bytes], ...]  # (encoding, body), best first


CODERS: dict[str, Callable[[bytes], bytes]] = {  # best first
    "br": functools.partial(brotli.compress, quality=BROTLI_QUALITY),
    "gzip": functools.partial(zlib.compress, level=GZIP_LEVEL, wbits=31),  # 31: gzip container
}


def compress(body: bytes) -> Encoded:
    """The stored encodings of ``body``: none when it is too small to gain."""
    if len(body) < MIN_COMPRESS_BYTES:
        return ()
    return tuple((encoding, coder(body)) for encoding, coder in CODERS.items())


def compress_as(encoding: str | None, body: bytes) -> bytes:
    """``body`` in one encoding that ``compress`` makes (None: as it is)."""
    return body if encoding is None else CODERS[encoding](body)


def compress_for_one(encoding: str, body: bytes) -> bytes:
    """``body``, made for one visitor, in ``encoding``: brotli at its fastest."""
    if encoding == "br":
        compressed: bytes = brotli.compress(body, quality=PERSONAL_BROTLI_QUALITY)
        return compressed
    return compress_as(encoding, body)


@functools.lru_cache(maxsize=64)  # browsers send a handful of distinct headers
def weights(accept_encoding: bytes) -> dict[str, float]:
    """``Accept-Encoding`` as encoding -> q (``*`` included; a bad q counts as 0).

    The dict is shared between calls: read it, never change it.

    >>> weights(b"gzip;q=0.5, br;q=0, *")
    {'gzip': 0.5, 'br': 0.0, '*': 1.0}
    """
    parsed = {}
    for item in accept_encoding.decode("latin-1").lower().split(","):
        encoding, _, params = item.partition(";")
        if encoding.strip():
            parsed[encoding.strip()] = _quality(params)
    return parsed


@functools.lru_cache(maxsize=64)  # browsers send a handful of distinct headers
def coding_for(accept_encoding: bytes | None) -> str | None:
    """The best encoding ``compress`` makes that the client accepts (None: plain)."""
    if not accept_encoding:
        return None
    accepted = weights(accept_encoding)
    for encoding in CODERS:
        if accepted.get(encoding, accepted.get("*", 0.0)) > 0:
            return encoding
    return None


def choose(encoded: Encoded, accept_encoding: bytes | None) -> tuple[str, bytes] | None:
    """The best stored encoding the client accepts, or None for the plain body."""
    if not encoded or not accept_encoding:
        return None
    accepted = weights(accept_encoding)
    for encoding, body in encoded:
        if accepted.get(encoding, accepted.get("*", 0.0)) > 0:
            return encoding, body
    return None


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0  # a malformed weight: do not guess
    return 1.0
