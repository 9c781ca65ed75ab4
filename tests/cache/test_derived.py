"""What is worked out of an entry once: the app's decoded values, its ETag."""

from __future__ import annotations

import hashlib

from app.cache import Cache, Decoding, Entry, MemoryStore, fragment


def entry(body: bytes = b"42") -> Entry:
    return Entry(key="k", body=body, tags=frozenset(), snapshot=0, created_at=0.0)


def test_an_entry_s_body_is_decoded_once_and_the_value_handed_back() -> None:
    calls: list[bytes] = []

    def number(body: bytes) -> int:
        calls.append(body)
        return int(body)

    as_number = Decoding(number)
    one = entry()

    assert [one.decoded(as_number) for _ in range(3)] == [42, 42, 42]
    assert calls == [b"42"]
    assert entry().decoded(as_number) == 42 and len(calls) == 2  # another entry: its own


def test_each_decoding_keeps_its_own_value_even_none() -> None:
    calls: list[str] = []

    def nothing(body: bytes) -> None:
        calls.append("nothing")

    as_text, as_nothing = Decoding(bytes.decode), Decoding(nothing)
    one = entry(b"hello")

    assert (one.decoded(as_text), one.decoded(as_nothing), one.decoded(as_nothing)) == (
        "hello",
        None,
        None,
    )
    assert calls == ["nothing"]  # a None is kept, not decoded again


def test_an_etag_is_made_of_the_body_on_first_ask_and_kept() -> None:
    one = entry(b"<p>a body</p>")

    assert one.derived.etag is None  # nothing hashed by making the entry
    made = one.etag
    assert made == f'"{hashlib.sha256(b"<p>a body</p>").hexdigest()[:32]}"'
    assert one.derived.etag == made and one.etag is made


async def test_a_part_of_a_page_is_never_hashed_the_page_is_once() -> None:
    """A list's window (~100 kB, a fragment) is never sent alone: its ETag is
    never made; the page's is, when it is answered."""
    cache = Cache(MemoryStore(max_bytes=1 << 20))

    async def part() -> str:
        return "<li>a row</li>" * 100

    async def page() -> str:
        return "<ol>" + await fragment("window", part) + "</ol>"

    with cache.bound():
        served = await cache.serve("page", page)
        found = await cache.store.get("fragment:window()", 0.0)

    assert found is not None and served.entry is not None
    assert found[0].derived.etag is None
    assert served.entry.derived.etag is None  # until its answer asks
    assert served.entry.etag == f'"{hashlib.sha256(served.body).hexdigest()[:32]}"'
