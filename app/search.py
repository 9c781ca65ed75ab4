"""Search words: one normalisation for what is indexed and what is asked.

A ticket's title and content are stored a second time as ``search_text``:
their words, lower-cased (case-folded) and stripped of accents, separated by
spaces. SQLite's FTS5 index and PostgreSQL's tsvector are both built from
that column, and a query goes through the same ``words()``, so both stacks
split text into the same words and find the same tickets ("CAFÉ crem" finds
"Café crème" on either). User text never reaches a query as syntax: only
words made of letters and digits do, each quoted (FTS5) or checked (tsquery).

It sits below the models, not in the tickets feature: the models fill
``search_text`` on every write and their triggers call ``ticket_search_key``
(registered here), the feature asks, and the templates know the query's limit.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from datetime import UTC, datetime, timedelta

from app import sqlite_functions

# Letters and digits; "_" and everything else separates words, as FTS5's
# unicode61 tokenizer does.
_WORD = re.compile(r"[^\W_]+")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_QUERY_CHARS = 500  # a longer ?q= is refused with a 400
MAX_QUERY_WORDS = 12  # words past this are ignored: every one must match anyway
MAX_WORD_CHARS = 64
ID_BITS = 5  # of the order key: what 64 bits leave after every microsecond of years 1-9999


def fold(text: str) -> str:
    """Lower-case and strip accents: ``"CAFÉ Crème"`` -> ``"cafe creme"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """The words of ``text``, folded: what is indexed, and what a query asks for."""
    return _WORD.findall(fold(text))


def search_text(title: str, content: str) -> str:
    """What the search indexes hold of a ticket."""
    return " ".join(words(title) + words(content))


def query_words(q: str) -> tuple[str, ...]:
    """The words a search asks for, in a canonical order, duplicates dropped.

    Order does not change the result (every word must match), so sorting
    gives one cache key per meaning.
    """
    unique = {word[:MAX_WORD_CHARS] for word in words(q)}
    return tuple(sorted(unique))[:MAX_QUERY_WORDS]


def order_key(created_at: datetime, ticket_id: str) -> int:
    """One integer that sorts like (created_at, id): the SQLite search index's rowid.

    FTS5 returns matches in rowid order and can stop after a page of them;
    with this key as the rowid, "newest first" is that order, so a search
    that matches most tickets reads one page, not all of them. Microseconds
    since the epoch, then ``ID_BITS`` bits of the id: two tickets collide
    only when created in the same microsecond with ids that hash alike.
    Every moment a ``datetime`` holds (years 1 to 9999) is within 2**58 us
    of 1970, so the key fits SQLite's signed 64 bits whatever the clock
    says (revision 0002's 12 bits of id overflowed after 2041-05-11).
    """
    moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    micros = (moment - EPOCH) // timedelta(microseconds=1)  # exact, unlike a float
    return micros << ID_BITS | (zlib.crc32(ticket_id.encode()) & (1 << ID_BITS) - 1)


def sqlite_order_key(created_at: str, ticket_id: str) -> int:
    """``order_key`` of a row as SQLite stores it (naive UTC text), for the triggers."""
    return order_key(datetime.fromisoformat(created_at), ticket_id)


def sqlite_order_key_0002(created_at: str, ticket_id: str) -> int:
    """Revision 0002's key, frozen: its triggers (and 0009's downgrade) call it."""
    moment = datetime.fromisoformat(created_at).replace(tzinfo=UTC)
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return micros << 12 | (zlib.crc32(ticket_id.encode()) & 0xFFF)


def fts5_match(query: tuple[str, ...]) -> str:
    """An FTS5 MATCH expression: every word as a quoted prefix (``"caf"* "crem"*``)."""
    return " ".join('"' + word.replace('"', '""') + '"*' for word in query)


def tsquery(query: tuple[str, ...]) -> str:
    """A to_tsquery('simple', ...) expression: every word as a prefix (``caf:* & crem:*``)."""
    return " & ".join(f"{word}:*" for word in query)


sqlite_functions.register("ticket_search_key", 2, sqlite_order_key)  # revision 0009's triggers
sqlite_functions.register("ticket_order_key", 2, sqlite_order_key_0002)
