"""Invalidations that outlive their writer: a transactional outbox.

A row is settled (deleted) only when the store took its bump *and* every
edge acknowledged its purge; until then it stays, and sweepers apply it
again, backing off while they fail, until both are done.

A write's invalidations are rows of ``invalidation_outbox``, inserted by the
write's own transaction, so they commit with the data or not at all. Right
after COMMIT the writer applies them (the cache's ``after_commit``) and, if
the store took them, deletes the row in the background, together with the
others settled within ``DELETE_AFTER`` (one statement for a burst of writes,
and none on the path of the read that follows a write). A row the writer
could not apply (it is cut off from Redis or from the edge cache, or died
right after COMMIT) is applied by any process's sweeper once it is ``GRACE``
old, and only then deleted.

The bound: a write acknowledged by one process is served stale by no process
for longer than ``GRACE + SWEEP_EVERY`` plus one sweep (0.7 s here), as long
as some process can reach the store.

A cache whose every answer dies with its process (an in-process store, no
edge: ``Cache.outlives_process`` is false) needs none of it: a write is
invalidated right after COMMIT, or its process is gone, and its answers with
it. Then no row is written, and the sweeper looks once, at start, for rows an
earlier run left (a store or an edge it had then), and stops. Rows are timed by the inserting host's
clock, so a skew between hosts adds to the bound (or sweeps a row early,
which only costs one more bump).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cache import Cache, Commit, EdgeUnavailable, StoreUnavailable
from app.db import Database
from app.models import InvalidationOutbox, utcnow

logger = logging.getLogger(__name__)

GRACE = timedelta(seconds=0.5)  # the writer's own time to apply its row
SWEEP_EVERY = 0.2  # seconds between two looks for rows nobody applied
# While the store or an edge refuses, the looks space out, doubling up to this
# (seconds); the first that succeeds brings them back to SWEEP_EVERY. An edge
# that resumes is purged within this of it (its reads stalled meanwhile).
SWEEP_BACKOFF_MAX = 0.8
SWEEP_BATCH = 100
# Settled rows wait this long (seconds) to be deleted together. A write's
# first reader comes within a millisecond or two, and a DELETE then would
# slow it (bench/README.md, write -> fresh).
DELETE_AFTER = 0.05


class Outbox:
    def __init__(self, cache: Cache, db: Database) -> None:
        self.cache = cache
        self.db = db
        self._forgetting: set[asyncio.Task[None]] = set()
        self._settled: list[int] = []  # applied rows the next delete takes
        self._next_delete: asyncio.Task[None] | None = None  # scheduled, has not taken them yet
        # Rows this process wrote and is applying or about to delete: its own
        # sweeper leaves them. Under load the delete can come later than
        # GRACE; applying such a row again moved its tags a second time (a
        # spare render, and a render in flight refused by the store as moved).
        self._mine: set[int] = set()

    async def record(self, session: AsyncSession, commit: Commit) -> int | None:
        """Write what ``commit`` queued, in its transaction (before COMMIT), if
        anything that keeps answers outlives this process."""
        if not commit.queued or not self.cache.outlives_process:
            return None
        row = InvalidationOutbox(queued=commit.to_text())
        session.add(row)
        await session.flush()
        assert row.id is not None
        self._mine.add(row.id)
        return row.id

    def dropped(self, row: int) -> None:
        """The write failed after ``record`` (rolled back, or its COMMIT or its
        bumps raised): if the row exists, it is the sweepers' now."""
        self._mine.discard(row)

    def settled(self, row: int, commit: Commit) -> None:
        """After COMMIT and the bumps: a row this process applied is deleted
        soon, in the background (the answer need not wait); one it owes stays,
        for the sweepers."""
        if not commit.applied:
            self._mine.discard(row)
            return
        self._settled.append(row)
        if self._next_delete is None or self._next_delete.done():  # none will take it: one will
            task = self._next_delete = asyncio.create_task(self._delete_settled())
            self._forgetting.add(task)
            task.add_done_callback(self._forgetting.discard)

    async def idle(self) -> None:
        """Wait for the deletes scheduled or in flight (tests, shutdown)."""
        await asyncio.gather(*self._forgetting, return_exceptions=True)

    async def _delete_settled(self) -> None:
        # Cut short (a shutdown), it leaves its rows to the next one, or to a sweeper.
        await asyncio.sleep(DELETE_AFTER)
        rows, self._settled, self._next_delete = self._settled, [], None
        await self._delete(rows)

    async def sweep(self) -> int:
        """Apply and delete the rows older than ``GRACE``; how many. Raises
        ``StoreUnavailable`` or ``EdgeUnavailable`` (and leaves them) while the
        store or the edge cache cannot take them.

        On PostgreSQL each row is claimed (``FOR UPDATE SKIP LOCKED``), so two
        sweepers do not both apply it; SQLite has one writer at a time anyway.
        """
        unowned = select(col(InvalidationOutbox.id), col(InvalidationOutbox.queued)).where(
            col(InvalidationOutbox.created_at) < utcnow() - GRACE
        )
        if self._mine:
            unowned = unowned.where(col(InvalidationOutbox.id).not_in(self._mine))
        async with self.db.engine.begin() as connection:
            rows = (
                await connection.execute(
                    unowned.order_by(col(InvalidationOutbox.id))
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for _, queued in rows:
                await self.cache.apply_commit(Commit.from_text(queued))
            if rows:
                ids = [row_id for row_id, _ in rows]
                await connection.execute(
                    delete(InvalidationOutbox).where(col(InvalidationOutbox.id).in_(ids))
                )
        return len(rows)

    async def run(self) -> None:
        """Sweep for as long as the app runs; back off while sweeps fail. Once,
        when nothing this cache keeps outlives the process (no row is made)."""
        pause = SWEEP_EVERY
        once = not self.cache.outlives_process
        while True:
            try:
                if await self.sweep():
                    pause = SWEEP_EVERY
                    continue  # more may be waiting
                pause = SWEEP_EVERY
            except (StoreUnavailable, EdgeUnavailable):
                # The store or an edge is out of our reach too: the rows wait,
                # and are tried again, less often, until it takes them.
                pause = min(pause * 2, SWEEP_BACKOFF_MAX)
            except Exception:
                logger.exception("sweeping the invalidation outbox failed")
            if once:
                return
            await asyncio.sleep(pause)

    async def _delete(self, rows: list[int]) -> None:
        try:
            async with self.db.engine.begin() as connection:
                await connection.execute(
                    delete(InvalidationOutbox).where(col(InvalidationOutbox.id).in_(rows))
                )
        except Exception:
            # Left for a sweeper, which applies it once more: a spare bump, no harm.
            logger.warning("could not delete applied outbox rows %s", rows, exc_info=True)
        finally:
            self._mine.difference_update(rows)
