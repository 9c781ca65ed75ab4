"""People signed in, each with a session of their own, for the HIT rows.

    cookies = await people.sign_in(database_url, 1000)

Written straight to the database before any server starts (as
``tests/helpers.sign_in`` does: no Argon2 hash per person), each with the
two cookies a browser would send after signing in (``session``, ``viewer``).
Asked in turn, they are many people each reading the list again: every
request names a real session, none repeats the one before it (more people
than ``app/cache/repeats.py`` keeps shapes for), and each gets its own holes.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from app import edge_contract
from app.accounts import sessions
from app.accounts.people import add_person
from app.db import Database

COUNT = 1000  # people, more than the repeats keep (MAX_SHAPES) and than Assembled holds bodies of
SCRIPT = Path(__file__).with_name("people.lua")  # the wrk script that sends them in turn
# Where bench/people.lua reads the cookies from, one Cookie header value a line.
COOKIES_ENV = "BENCH_PEOPLE_COOKIES"


async def sign_in(database_url: str, count: int = COUNT) -> list[str]:
    """``count`` new people, each signed in once: their Cookie header values."""
    db = Database(database_url)
    cookies = []
    try:
        await db.create_schema()
        async with db.transaction() as session:
            for n in range(count):
                user = await add_person(
                    session,
                    name=f"Reader {n}",
                    email=f"reader-{n}@bench.example",
                    password_hash="no hash: this account signs in by its session only",
                )
                token = await sessions.start(session, user)
                viewer = edge_contract.viewer_cookie(user.id, is_admin=user.is_admin)
                cookies.append(f"{sessions.COOKIE}={token}; {sessions.VIEWER_COOKIE}={viewer}")
        return cookies
    finally:
        await db.close()


def save(cookies: list[str], path: Path) -> None:
    """The cookies one a line, for bench/people.lua: every wrk started from now
    on by this process reads them (``COOKIES_ENV``, inherited)."""
    path.write_text("".join(f"{cookie}\n" for cookie in cookies))
    os.environ[COOKIES_ENV] = str(path)


def check(url: str, cookies: list[str], headers: dict[str, str] | None = None) -> None:
    """Every person reads the page once, as the people in turn do (a person's
    first read of their session is a database read, remembered from then on
    by the process: a few seconds' load of 1,000 people would mostly measure
    those), and the second person's page is a HIT of the shared part with
    their name in it."""
    with httpx.Client(timeout=30.0) as client:
        for cookie in cookies:
            client.get(url, headers={**(headers or {}), "Cookie": cookie}).raise_for_status()
        answer = client.get(url, headers={**(headers or {}), "Cookie": cookies[1]})
    if answer.headers.get("x-cache") != "HIT" or "<strong>Reader 1</strong>" not in answer.text:
        raise RuntimeError(f"a person's GET {url}: X-Cache {answer.headers.get('x-cache')}")
