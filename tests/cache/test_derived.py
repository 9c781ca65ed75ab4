"""What is worked out of an entry once: the app's decoded values."""

from __future__ import annotations

from app.cache import Decoding, Entry


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
