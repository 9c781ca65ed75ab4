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

from pathlib import Path

from app import edge_contract
from app.accounts import sessions
from app.accounts.people import add_person
from app.db import Database

COUNT = 1000  # people, more than the repeats keep (MAX_SHAPES) and than Assembled holds bodies of
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


def save(cookies: list[str], path: Path) -> Path:
    """The cookies one a line, for bench/people.lua (``COOKIES_ENV``)."""
    path.write_text("".join(f"{cookie}\n" for cookie in cookies))
    return path
