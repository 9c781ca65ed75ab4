"""The oracle: the app with ``CACHE_URL=off`` beside a cached one, over one database.

Whatever the cached app answers for a URL and a person, the oracle (which
stores nothing: every answer rendered now, from the database) must answer
the same. ``Twins`` runs both in this process; ``compare`` tells a cached
answer from the oracle's after removing only what legitimately differs per
answer (``IGNORED_HEADERS``; the bodies are compared byte for byte);
``links_of`` reads the URLs a page leads a reader to (live fragments'
sources, the next page of a list, the earlier comments and changes) with
the standard library's HTML parser; ``database_state`` tells whether the
database moved between two looks.

``tests/test_fresh.py`` drives the twins with random actions and checks
every answer after each one.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from html.parser import HTMLParser

import httpx
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.cache import OffStore
from app.main import create_app
from app.models import InvalidationOutbox
from app.settings import Settings

# What differs between two answers of the same content, and nothing else:
# - x-cache, cache-status: how the answer was made (HIT, MISS), not what it says;
# - etag: the same body may carry the ETag of the encoding it was made with;
# - cache-control: who may keep the answer, not what it says: the cache-off
#   app keeps nothing, so it tells every layer after it to keep nothing too
#   (private, no-store: an edge keeps only what a store accepted);
# - content-length, content-encoding: follow the encoding, and the bodies
#   are compared decoded;
# - date, server: the moment and the server (absent in process; named in
#   case a server adds them).
IGNORED_HEADERS = frozenset(
    {
        "x-cache",
        "cache-status",
        "etag",
        "cache-control",
        "content-length",
        "content-encoding",
        "date",
        "server",
    }
)
DIFF_LINES = 12  # lines of a unified diff shown in a failure


@dataclass(frozen=True, slots=True)
class Answer:
    """What a reader gets: the status, the headers that say something, the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: str

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        headers = sorted(
            (name.decode().lower(), value.decode())
            for name, value in response.headers.raw
            if name.decode().lower() not in IGNORED_HEADERS
        )
        return cls(response.status_code, tuple(headers), response.text)

    def lines(self) -> list[str]:
        head = [f"{self.status}"] + [f"{name}: {value}" for name, value in self.headers]
        return [*head, "", *self.body.splitlines()]


def compare(cached: Answer, oracle: Answer) -> str | None:
    """None when they agree; else a short unified diff, oracle first."""
    if cached == oracle:
        return None
    diff = difflib.unified_diff(
        oracle.lines(), cached.lines(), "oracle (CACHE_URL=off)", "cached", n=1, lineterm=""
    )
    shown = list(diff)
    cut = len(shown) - DIFF_LINES
    return "\n".join(shown[:DIFF_LINES] + ([f"... {cut} more lines"] if cut > 0 else []))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        source = found.get("data-live-src")
        if source:
            self.found.append(source)
        if tag == "a" and found.get("rel") == "next" and found.get("href"):
            self.found.append(str(found["href"]))
        if tag == "a" and found.get("rel") == "prev":  # "Show earlier": a page, and its source
            self.found += [str(link) for link in (found.get("href"), found.get("hx-get")) if link]


# The oracle's bodies repeat (the same page for each person, and after each
# step that moved nothing under it), and the pure-Python parser took a fifth
# of tests/test_fresh.py's CPU: each body is parsed once, remembered by its
# digest (not the body itself: a list page is ~100 kB).
_PARSED: dict[bytes, tuple[str, ...]] = {}
PARSED_LIMIT = 50_000
# And it is given only the start tags that can hold a link it reads, which
# took what was left of its time (~6 ms a page) to ~0.3 ms. The app escapes
# ">" in every attribute value, so none ends such a tag early.
_MAY_LINK = re.compile(r"<[a-z][^<>]*?\b(?:data-live-src|rel)=[^<>]*>")


def links_of(body: str) -> tuple[str, ...]:
    """The live fragments' sources, the next-page links and the earlier pages'
    links (a page and its source) of ``body``, in order."""
    key = hashlib.blake2b(body.encode(), digest_size=16).digest()
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) >= PARSED_LIMIT:
            _PARSED.clear()
        parser = _Links()
        parser.feed("".join(_MAY_LINK.findall(body)))
        parser.close()
        found = _PARSED[key] = tuple(parser.found)
    return found


# The cache's own bookkeeping, which no answer shows: a write's outbox rows
# are deleted in the background once applied (app/outbox.py), at any moment.
NOT_SHOWN = frozenset({InvalidationOutbox.__tablename__})


async def database_state(engine: AsyncEngine) -> bytes:
    """A digest of every row of every table the database has (the search
    index's too) but ``NOT_SHOWN``: the same for two looks at one state, new
    after any write.

    Read straight through the engine, outside any session of the app's, so
    that nothing the app records about its reads sees it.
    """
    digest = hashlib.blake2b(digest_size=16)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in sorted(set(tables) - NOT_SHOWN):
            rows = await connection.execute(text(f'SELECT * FROM "{table}"'))
            digest.update(f"\0{table}\0".encode())
            for row in sorted(repr(tuple(row)) for row in rows):  # in no order of the database's
                digest.update(row.encode())
    return digest.digest()


@dataclass(frozen=True, slots=True)
class Twins:
    """The app with a cache, and its oracle over the same database."""

    cached: Starlette
    oracle: Starlette

    @classmethod
    @asynccontextmanager
    async def running(cls, database_url: str, cache_url: str) -> AsyncIterator[Twins]:
        """Both apps started (the cached one first: it makes the schema).

        The oracle hears the cached app's invalidations, as a second process
        hears them over a shared store's channel: only its one-second memo
        of whom a session cookie names (``app.state.viewers``) listens, and
        without that a signed-out cookie would stay someone's there for up
        to a second. It stores nothing else that an invalidation could move.
        """
        hashing = Settings.from_env().password_hashing  # (the suite's: tests/conftest.py)
        settings = Settings(
            database_url=database_url, cache_url=cache_url, password_hashing=hashing
        )
        cached = create_app(settings)
        oracle = create_app(replace(settings, cache_url="off"))
        assert isinstance(oracle.state.cache.store, OffStore)
        cached.state.cache.on_invalidate(oracle.state.viewers.forget)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(cached.router.lifespan_context(cached))
            await stack.enter_async_context(oracle.router.lifespan_context(oracle))
            yield cls(cached, oracle)
