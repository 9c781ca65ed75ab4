"""An entry as Redis holds it, and back: a meta (JSON) and a blob (bytes).

The meta is JSON because the store's Lua scripts read it too: they compare
its ``tags`` and ``snapshot`` with the stamps in the same round trip. The blob
is the plain body, then each encoded body, whose encodings and lengths the meta
lists.
"""

from __future__ import annotations

import json

from app.cache.entry import Entry


def encode(entry: Entry) -> tuple[str, bytes]:
    """The entry's meta and blob."""
    meta = {
        "tags": sorted(entry.tags),
        "snapshot": entry.snapshot,
        "created_at": entry.created_at,
        "revalidate": entry.revalidate,
        "content_type": entry.content_type,
        # An answer's, made once for every process; a part's is never sent.
        "etag": entry.etag if entry.compressible else entry.given_etag,
        "made_by": entry.made_by,
        "encoded": [[encoding, len(body)] for encoding, body in entry.encoded],
        "compressible": entry.compressible,
    }
    return json.dumps(meta), b"".join([entry.body, *(body for _, body in entry.encoded)])


def decode(key: str, meta_json: str | bytes, blob: bytes) -> Entry:
    """The entry ``encode`` was given: the plain body is what the encoded bodies
    leave of the blob."""
    meta = json.loads(meta_json)
    encoded = []
    end = len(blob)
    for encoding, length in reversed(meta.get("encoded", [])):
        encoded.append((encoding, blob[end - length : end]))
        end -= length
    return Entry(
        key=key,
        body=blob[:end],
        encoded=tuple(reversed(encoded)),
        tags=frozenset(meta["tags"]),
        snapshot=int(meta["snapshot"]),
        created_at=float(meta["created_at"]),
        revalidate=meta["revalidate"],
        content_type=meta["content_type"],
        given_etag=meta["etag"],
        made_by=meta.get("made_by", ""),
        compressible=meta.get("compressible", False),
    )
