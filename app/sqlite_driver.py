"""aiosqlite with reads and one row's writes on the event loop's thread and
any other statement in one trip, for SQLAlchemy's async SQLite dialect.

aiosqlite runs every call on a thread of its own, and each call is a trip
there and back: a hand-off through a queue, then a wake-up of the event loop.
SQLAlchemy's adapter makes four for a query (open a cursor, execute, fetch,
close), three for a write, and one for a rollback with no transaction open.
The connection given to SQLAlchemy here (``create_async_engine(async_creator=...)``,
app/db.py) makes none for a read, and one for a status change (its COMMIT):

- a ``SELECT`` outside a write transaction runs on the loop's own thread.
  Under WAL a reader never waits for a lock, and the list's reads are a
  fraction of a millisecond of SQLite's time, while each trip wakes a thread
  and gives the CPU away twice: on a busy machine that hand-off, not the
  query, was most of what a write's next read waited (bench/README.md).
  A full-text search (``MATCH``) still makes its trip: it can take
  milliseconds, which the loop should not stand still for;
- one row ``INSERT``ed by a write transaction that has written already
  (a ticket's history, the outbox's row) runs on the loop's thread too: the
  transaction holds the write lock from its first write on, so there is no
  lock to wait for, and one row is microseconds of SQLite's time. A status
  change made three trips (its UPDATE, its history's INSERT, COMMIT); with
  the next point, one;
- a first write of one row (one row ``INSERT``ed, or one ``UPDATE``d by its
  ``id``: a status change's) runs on the loop's thread too,
  if the write lock is free: it is tried there without waiting for the lock
  (``busy_timeout`` 0), and only if another connection holds it is the
  transaction it began rolled back (nothing was written, and the reads
  before it took no snapshot: they ran outside any transaction) and the
  write made again in a trip, which waits up to ``busy_timeout``. A status
  change's UPDATE is a tenth of a millisecond of SQLite's time; its trip
  cost two more wake-ups than that;
- anything else (a first write of many rows, which may take milliseconds; a
  read inside a write transaction; a COMMIT, which may checkpoint, and
  flushes to disk) runs whole in one trip: its cursor opened, run, read and
  closed on the thread. A rollback with nothing open makes none.

SQLAlchemy never runs two statements of one connection at once (each is
awaited), so the loop and the thread never use the connection together.
Everything else is aiosqlite's own, and so are the errors raised.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

# What a statement leaves: description, rowcount, lastrowid, rows.
Outcome = tuple[Any, int, int | None, list[Any]]

# ``UPDATE t SET ... WHERE t.id = ?``, and nothing after: one row, by its key.
_ONE_ROW_UPDATE = re.compile(
    r"UPDATE (\w+) SET [^;]*? WHERE \1\.id = \?", re.IGNORECASE | re.DOTALL
)


async def connect(database: str, **options: Any) -> OneTripConnection:
    """An aiosqlite connection to ``database``, its thread a daemon (as
    SQLAlchemy makes it: a connection left open never holds the interpreter)."""
    connection = aiosqlite.connect(database, **options)
    connection._thread.daemon = True  # before it starts, on the await
    return OneTripConnection(await connection)


class OneTripConnection:
    """An aiosqlite connection whose cursors make one trip per statement."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._inner = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def cursor(self) -> OneTripCursor:
        return OneTripCursor(self._inner)

    async def rollback(self) -> None:
        """None to make when no transaction is open (a read: most sessions)."""
        if self._inner.in_transaction:
            await self._inner.rollback()


class OneTripCursor:
    """Runs each statement whole, here or in one trip, and holds its rows until fetched."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self  # opened with its first statement, on the thread

    async def __aexit__(self, *raised: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        writing = self._connection.in_transaction  # (sqlite3 begins one with a first write)
        outcome: Outcome | None = None
        if inserts_here(sql) if writing else reads_here(sql):
            outcome = _run(self._connection, sql, parameters, False)
        elif not writing and first_write_here(sql):
            outcome = _run_unless_locked(self._connection, sql, parameters)
        if outcome is None:
            outcome = await self._trip(sql, parameters, many=False)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneTripCursor:
        outcome = await self._trip(sql, parameters, many=True)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def _trip(self, sql: str, parameters: Any, *, many: bool) -> Outcome:
        """``_run`` on the connection's thread: aiosqlite's own way there (untyped)."""
        run: Any = self._connection._execute
        outcome: Outcome = await run(_run, self._connection, sql, parameters, many)
        return outcome

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        taken = size or self.arraysize
        rows, self._rows = self._rows[:taken], self._rows[taken:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


def reads_here(sql: str) -> bool:
    """Whether ``sql`` is a read to run on the loop's thread (outside a write
    transaction): a plain ``SELECT`` that is no full-text search."""
    return sql.lstrip()[:6].upper() == "SELECT" and " MATCH " not in sql.upper()


def inserts_here(sql: str) -> bool:
    """Whether ``sql``, run by a transaction that has written already, is one
    row inserted (``INSERT ... VALUES (...)``), to run on the loop's thread."""
    head = sql.lstrip()[:6].upper()
    upper = sql.upper()
    return (
        head == "INSERT"
        and " SELECT " not in upper
        and upper.count("VALUES") == 1
        and (
            "), (" not in sql and "),(" not in sql  # one row of values, not many
        )
    )


def first_write_here(sql: str) -> bool:
    """Whether ``sql``, the first write of a transaction, is one row's to try
    on the loop's thread: one row inserted, or one row updated by its ``id``
    (as the ORM's flush writes a changed object)."""
    return inserts_here(sql) or _ONE_ROW_UPDATE.fullmatch(sql.strip()) is not None


def _run_unless_locked(
    connection: aiosqlite.Connection, sql: str, parameters: Any
) -> Outcome | None:
    """``sql`` run here at once; None, and no transaction left open, if
    another connection holds the write lock (the caller then waits for it in
    a trip)."""
    raw: sqlite3.Connection = connection._conn
    waits = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout=0")
    try:
        return _run(connection, sql, parameters, False)
    except sqlite3.OperationalError as error:
        if not is_busy(error):
            raise
        if raw.in_transaction:
            raw.rollback()  # the BEGIN sqlite3 made for it: nothing written yet
        return None
    finally:
        raw.execute(f"PRAGMA busy_timeout={waits}")


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds (SQLITE_BUSY,
    or one of its extended codes: _RECOVERY, _SNAPSHOT, _TIMEOUT)."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _run(connection: aiosqlite.Connection, sql: str, parameters: Any, many: bool) -> Outcome:
    """One statement, from opening its cursor to closing it (on the connection's
    thread, or on the loop's for those above)."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()
