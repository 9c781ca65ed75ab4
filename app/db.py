"""The async engine and the session/transaction helpers."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import PoolResetState
from sqlalchemy.util import await_
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from app import sqlite_driver, sqlite_functions
from app.cache import Commit
from app.deps.hooks import COMMIT, TrackedSession
from app.migrations import upgrade

CommitHook = Callable[[], AbstractAsyncContextManager[Commit]]


class Outbox(Protocol):
    """Where a transaction's invalidations are written, in that transaction."""

    async def record(self, session: AsyncSession, commit: Commit) -> int | None:
        """Write what ``commit`` queued (before COMMIT); the row, if any."""

    def settled(self, row: int, commit: Commit) -> None:
        """After COMMIT and the bumps: forget the row if they were applied."""

    def dropped(self, row: int) -> None:
        """The transaction failed after ``record``: the row is not this writer's to apply."""


# The PostgreSQL advisory lock that lets one process at a time migrate
# ("tickets" in ASCII); any other process waits for it, then finds the work done.
MIGRATION_LOCK = 0x7469636B657473
BUSY_TIMEOUT_MS = 5_000  # how long a SQLite write waits for another's lock
MIGRATION_WAIT_MS = 120_000  # how long a starting process waits for another's migrations
WAL_RETRY_S = 0.01  # between tries of a switch to WAL that another process refused

# Alembic keeps its running migration in module globals (alembic.context,
# alembic.op): two migrations interleaved on one event loop, even of two
# different databases, would trample each other. One at a time per loop.
_alembic_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


class Database:
    """One engine, and sessions that read or write through it.

    ``after_commit`` wraps every write transaction, so whatever it queues
    inside (cache invalidations) runs only once COMMIT has succeeded; the
    ``outbox`` writes what it queued in the transaction itself, so that it
    outlives a writer that cannot apply it (app/outbox.py).
    """

    def __init__(
        self, url: str, *, after_commit: CommitHook | None = None, outbox: Outbox | None = None
    ) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {}
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.drivername == "sqlite+aiosqlite":  # one trip to its thread per statement
            args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
            options["async_creator"] = functools.partial(sqlite_driver.connect, *args, **kwargs)
        # SQLite: the pool's reset on return is _rollback_if_open.
        self.engine = create_async_engine(
            url, pool_reset_on_return=None if self.is_sqlite else "rollback", **options
        )
        self._after_commit: CommitHook = after_commit or _no_hook
        self.outbox = outbox
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "reset", _rollback_if_open)

    async def create_schema(self) -> None:
        """Bring the schema to the newest migration (app/migrations, Alembic).

        All in one transaction that one process holds at a time: on
        PostgreSQL behind an advisory lock (released by COMMIT or ROLLBACK),
        on SQLite behind the file's write lock (``BEGIN IMMEDIATE``, which
        waits out busy_timeout). A database made before migrations existed
        is adopted (stamped), then upgraded. Within a process, one
        migration runs at a time.
        """
        in_process = _alembic_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with in_process, self.engine.begin() as connection:
            if self.is_sqlite:
                # Another process may be running every migration on a busy machine:
                # wait for it as long as that takes, not a write's usual 5 s.
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            elif self.engine.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            await connection.run_sync(upgrade)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session: nothing it does is committed; what a render reads
        through it names the render's dependencies (app/deps)."""
        async with self._session() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write: committed if the block completes, rolled back if it raises.

        What its rows moved is queued in the cache's ``Commit`` (app/deps),
        applied after COMMIT and kept in the outbox with the write.
        """
        row = None
        try:
            async with (
                self._after_commit() as commit,
                self._session() as session,
                session.begin(),
            ):
                session.info[COMMIT] = commit
                yield session
                await session.flush()  # every move queued before the outbox keeps them
                if self.outbox is not None:
                    row = await self.outbox.record(session, commit)
        except BaseException:
            if row is not None and self.outbox is not None:
                self.outbox.dropped(row)
            raise
        if row is not None and self.outbox is not None:
            self.outbox.settled(row, commit)

    def _session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False, sync_session_class=TrackedSession)

    async def close(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def _no_hook() -> AsyncIterator[Commit]:
    yield Commit()


def _rollback_if_open(dbapi_connection: Any, _record: Any, reset: PoolResetState) -> None:
    """A connection back in the pool is rolled back only if a transaction is
    still open. A session nearly always ended its own (COMMIT, or the rollback
    of its close), and through aiosqlite every rollback is a trip to the
    connection's thread, which every read session paid twice before."""
    if not reset.terminate_only and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    for name, (arity, function) in sqlite_functions.registered.items():
        connection.create_function(name, arity, function, deterministic=True)
    cursor = connection.cursor()
    # busy_timeout makes a second writer wait for the lock instead of failing
    # at once. WAL lets readers go on while a write commits.
    cursor.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
    _switch_to_wal(cursor)
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode (kept in the file: a no-op once it is), waiting
    as long as a start waits for migrations.

    The switch needs the file to itself while another process is creating
    it, converting it or checkpointing it at its close: on a loaded machine
    that outlasted a write's wait (busy_timeout waits for it). And while
    another process converting it holds its write lock, SQLite answers
    "database is locked" at once, without waiting busy_timeout (waiting there
    could deadlock): three apps starting at once on a new file, one of them
    failed that way about once in 35 under load (tests/test_migrations.py). So a
    refused switch is tried again until the deadline.
    """
    deadline = time.monotonic() + MIGRATION_WAIT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if not sqlite_driver.is_busy(error) or time.monotonic() > deadline:
                raise
        await_(asyncio.sleep(WAL_RETRY_S))  # a connect event runs in SQLAlchemy's greenlet


def database(request: Request) -> Database:
    """The app's database, for a request's reads and writes."""
    db: Database = request.app.state.db
    return db
