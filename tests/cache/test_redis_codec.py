"""An entry as Redis holds it: every field, and each encoded body, comes back."""

from __future__ import annotations

from app.cache import Entry
from app.cache.encoding import compress
from app.cache.redis import RedisStore, codec
from harness.servers import RedisServer

BODY = b"<p>a body worth compressing</p>" * 100


def test_an_entry_decodes_as_it_was_encoded() -> None:
    made = Entry(
        key="k", body=BODY, tags=frozenset({"a", "b"}), snapshot=7, created_at=3.5,
        revalidate=5.0, content_type="text/plain", made_by="host:1 #7", encoded=compress(BODY),
        compressible=True,
    )  # fmt: skip

    found = codec.decode("k", *codec.encode(made))
    assert found == made
    assert found.etag == made.etag  # kept, not made again (and the same)


async def test_encoded_bodies_survive_the_round_trip(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url + "?prefix=enc")
    try:
        made = Entry(
            key="k",
            body=BODY,
            tags=frozenset({"t"}),
            snapshot=await store.clock(),
            created_at=0.0,
            encoded=compress(BODY),
        )
        assert await store.put(made)
        found = await store.get("k", 1.0)
        assert found is not None
        assert (found[0].body, found[0].encoded, found[0].etag) == (BODY, made.encoded, made.etag)
    finally:
        await store.close()
