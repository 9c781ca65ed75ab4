"""Helpers shared by the test modules of tests/ (fixtures stay in conftest.py).

- the environment: which database and cache the suite runs over (``own_database``,
  ``own_cache_url``: a test's own; ``migrated_template``, the database a test's
  is copied from), ``sqlite_only``;
- the app in process: ``app_client``, ``sign_in``, ``add_ticket``, ``ticket_count``,
  ``Heard`` (the invalidations an app applies),
  ``HTMX`` (the header an htmx request sends), ``set_clock`` (the app's clock);
- accounts over the app's own form: ``sign_up`` with ``PASSWORD``;
- migrations: ``HEAD``, ``schema_diff``, ``revision``, ``downgrade_to_base``,
  ``start_apps_at_once``.

What a real server process needs (ports, servers, HTTP helpers that bench
uses too) is in the ``harness`` package.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, make_url
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, select
from starlette.applications import Starlette

from app import models as app_models
from app.accounts import sessions
from app.accounts.people import add_person
from app.db import Database
from app.migrations import alembic_config, include_object
from app.models import Ticket, TicketStatus, User
from app.settings import ROOT
from app.tickets import views
from harness.dropper import Dropper
from harness.servers import create_postgres_database, drop_postgres_database

# -- the environment -----------------------------------------------------------------

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_CACHE_URL = os.environ.get("TEST_CACHE_URL", "")
DROPS = Dropper()  # the PostgreSQL databases of finished tests, dropped meanwhile


def own_cache_url() -> str:
    """A cache of one's own: memory, or a key prefix of one's own on TEST_CACHE_URL."""
    if not TEST_CACHE_URL:
        return "memory://"
    return f"{TEST_CACHE_URL}?prefix=test-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def own_database(directory: Path, template: str | None = None) -> AsyncIterator[str]:
    """A new database: an SQLite file in ``directory``, or a database of its own
    on TEST_DATABASE_URL's server (dropped after, by ``DROPS``). Empty, or a copy of
    ``template`` (the URL of a database ``migrated_template`` made)."""
    if not TEST_DATABASE_URL:
        path = directory / "tickets.db"
        if template is not None:
            shutil.copyfile(make_url(template).database or "", path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = None if template is None else make_url(template).database
    url = await create_postgres_database(TEST_DATABASE_URL, name)
    try:
        yield url
    finally:
        DROPS.drop(url)  # while the next test runs: tests/conftest.py waits for them at the end


async def migrated_template(directory: Path) -> str:
    """A database migrated to head, for ``own_database`` to copy for each test:
    the migrations run once per test process instead of before every test (an
    app still runs ``create_schema`` on start, which finds the schema at head;
    tests/test_migrations.py and tests/test_postgres.py migrate empty ones).
    Nobody stays connected to it, as a PostgreSQL template requires."""
    if TEST_DATABASE_URL:
        url = await create_postgres_database(TEST_DATABASE_URL)
    else:
        url = f"sqlite+aiosqlite:///{directory / 'template.db'}"
    db = Database(url)
    try:
        await db.create_schema()
    finally:
        await db.close()
    return url


async def drop_template(url: str) -> None:
    if TEST_DATABASE_URL:
        await drop_postgres_database(url)


sqlite_only = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="SQLite-specific: TEST_DATABASE_URL points at PostgreSQL"
)

# -- the app in process --------------------------------------------------------------


@asynccontextmanager
async def app_client(
    app: Starlette, address: str = "127.0.0.1"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` in process, connecting from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 123))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def sign_in(app: Starlette, client: httpx.AsyncClient, name: str) -> User:
    """An account named ``name`` (the first one made is the admin), signed in on
    ``client``: written straight to the database, sparing each test an Argon2 hash."""
    async with app.state.db.transaction() as session:
        user = await add_person(
            session,
            name=name,
            email=f"{name.lower()}@example.com",
            password_hash="not a hash: this account signs in by its session only",
        )
        token = await sessions.start(session, user)
    client.cookies.set(sessions.COOKIE, token)
    return user


HTMX = {"HX-Request": "true"}


async def add_ticket(
    app: Starlette,
    title: str = "Printer on fire",
    content: str = "Smoke from tray 2.",
    status: TicketStatus = TicketStatus.OPEN,
) -> Ticket:
    """Write a ticket straight to the database (set-up, before anything is cached)."""
    async with app.state.db.transaction() as session:
        ticket = Ticket(title=title, content=content, status=status)
        session.add(ticket)
    return ticket


class Heard:
    """Every invalidation ``app`` applies from now on: the tags each moved."""

    def __init__(self, app: Starlette) -> None:
        self.tags: list[frozenset[str]] = []
        app.state.cache.on_invalidate(self.tags.append)


async def ticket_count(app: Starlette) -> int:
    async with app.state.db.session() as session:
        return (await session.exec(select(func.count()).select_from(Ticket))).one()


def set_clock(monkeypatch: pytest.MonkeyPatch, start: datetime) -> None:
    """The app's clock (``app.models.utcnow``) at ``start``, a millisecond later
    at each reading: every row it stamps gets a moment of its own."""
    ticks = itertools.count()

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return (start + timedelta(milliseconds=next(ticks))).astimezone(tz)

    monkeypatch.setattr(app_models, "datetime", Clock)


# -- accounts over the app's own form ------------------------------------------------

PASSWORD = "correct horse battery staple"


async def sign_up(
    visitor: httpx.AsyncClient, email: str = "ada@example.com", name: str = "Ada"
) -> httpx.Response:
    """Sign up in process, as the form posts it: a real password (hashed), a known email."""
    return await visitor.post("/signup", data={"name": name, "email": email, "password": PASSWORD})


# -- migrations ----------------------------------------------------------------------

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()

# One app starting: waits for the shared start time, then migrates.
START_ONE = """
import asyncio, sys, time
from app.db import Database

async def main(url: str, at: float) -> None:
    db = Database(url)
    try:
        time.sleep(max(0.0, at - time.time()))
        await db.create_schema()
    finally:
        await db.close()

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def start_apps_at_once(url: str, count: int) -> list[tuple[int, str]]:
    """Run ``create_schema`` in ``count`` processes at the same instant."""
    at = time.time() + 2.0  # time enough for every process to import the app
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            START_ONE,
            url,
            str(at),
            cwd=ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(count)
    ]
    results = []
    for process in processes:
        _, err = await process.communicate()
        results.append((process.returncode or 0, err.decode()))
    return results


async def schema_diff(db: Database) -> list[Any]:
    """What autogenerate would write: empty when the database matches the models."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as connection:
        return await connection.run_sync(compare)


async def revision(db: Database) -> str | None:
    async with db.engine.connect() as connection:
        return await connection.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision()
        )


async def downgrade_to_base(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))


def count_row_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the list rows rendered from now on, in order (each render of
    ``views._row_renderer``'s row): what a write made the next read render."""
    rendered: list[str] = []
    real_renderer = views._row_renderer

    def counting(ticket: Ticket, people: dict[str, User]) -> Callable[[], str]:
        render = real_renderer(ticket, people)

        def render_and_count() -> str:
            rendered.append(ticket.id)
            return render()

        return render_and_count

    monkeypatch.setattr(views, "_row_renderer", counting)
    return rendered
