"""Search words, list queries and the tags a write moves: plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.exceptions import HTTPException

from app import search
from app.models import Ticket, TicketStatus
from app.tickets.filters import Cursor, ListQuery


def test_words_are_folded_and_split_like_fts5_unicode61() -> None:
    assert search.words("Café-Crème, straße_42 ÉTÉ") == ["cafe", "creme", "strasse", "42", "ete"]
    assert search.search_text("Printer  on fire", "Tray 2!") == "printer on fire tray 2"


def test_query_words_are_canonical_and_bounded() -> None:
    assert search.query_words("Crème CAFÉ crème") == ("cafe", "creme")
    assert search.query_words(" ".join(f"w{n:02}" for n in range(30))) == tuple(
        f"w{n:02}" for n in range(search.MAX_QUERY_WORDS)
    )
    assert search.query_words("x" * 100) == ("x" * search.MAX_WORD_CHARS,)


def test_query_syntax_is_quoted_away() -> None:
    assert search.fts5_match(("near", "or")) == '"near"* "or"*'
    assert search.tsquery(("cafe", "creme")) == "cafe:* & creme:*"


def test_the_order_key_sorts_like_created_at_then_id() -> None:
    moment = datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=UTC)
    keys = [
        search.order_key(moment - timedelta(microseconds=1), "z"),
        search.order_key(moment, "a"),
        search.order_key(moment + timedelta(microseconds=1), "a"),
    ]

    assert keys == sorted(keys)
    assert search.order_key(moment.replace(tzinfo=None), "a") == keys[1]  # naive is UTC
    assert search.sqlite_order_key("2026-11-26 08:00:00.123456", "a") == keys[1]


def test_the_order_key_holds_every_date_in_signed_64_bits_and_sorts_across_them() -> None:
    moments = [
        datetime.min.replace(tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2041, 5, 12, tzinfo=UTC),  # past 0002's key
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
    ]
    keys = [search.order_key(moment, ticket_id) for moment in moments for ticket_id in ("a", "z")]

    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert keys[::2] == sorted(keys[::2]) and keys[1::2] == sorted(keys[1::2])


def test_a_cursor_round_trips_and_a_foreign_one_is_refused() -> None:
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "abc")

    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "!!", Cursor(cursor.at, "x" * 37).encode()):
        with pytest.raises(HTTPException) as refused:
            Cursor.decode(bad)
        assert refused.value.status_code == 400


def test_a_list_query_is_written_back_in_one_canonical_form() -> None:
    query = ListQuery.parse({"q": "Crème  café", "status": "OPEN", "utm_source": "x"})

    assert query.canonical() == "q=cafe+creme&status=OPEN"
    assert ListQuery.parse({"until": "ignored-where-windows-are-not-taken"}).canonical() == ""
    assert ListQuery().canonical() == ""


def test_a_list_query_knows_which_tickets_belong() -> None:
    ticket = Ticket(title="Café crème", content="cold", status=TicketStatus.OPEN)

    assert ListQuery.parse({"q": "caf COLD"}).matches(ticket)
    assert not ListQuery.parse({"q": "caf hot"}).matches(ticket)
    assert not ListQuery.parse({"status": "DONE"}).matches(ticket)
