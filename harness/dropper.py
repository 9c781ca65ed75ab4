"""PostgreSQL databases dropped on a thread of their own, while the caller goes on.

A test's own database is dropped after it (``DROP DATABASE ... WITH (FORCE)``:
a checkpoint and the files unlinked, 30-80 ms), and nothing after the test
waits for it: ``Dropper.drop`` hands the drop to an event loop on a thread of
its own and returns. ``Dropper.finish`` waits for every drop and raises the
first that failed; at most ``BACKLOG`` wait at once, so a slow server never
piles up databases.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from harness.servers import drop_postgres_database

BACKLOG = 8  # drops in flight before ``drop`` waits for the oldest
TIMEOUT = 60.0  # seconds a drop may take


class Dropper:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def drop(self, url: str) -> None:
        """Drop the database of ``url`` soon; raise now if an earlier drop failed."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
                self._thread.start()
            future = asyncio.run_coroutine_threadsafe(drop_postgres_database(url), self._loop)
            self._pending.append(future)
            done = [f for f in self._pending if f.done()]
            self._pending = [f for f in self._pending if not f.done()]
            oldest = self._pending[0] if len(self._pending) > BACKLOG else None
        for finished in done:
            finished.result()  # a failed drop: its error, here
        if oldest is not None:
            oldest.result(timeout=TIMEOUT)

    def finish(self) -> None:
        """Wait for every drop, stop the thread, and raise the first drop that failed."""
        with self._lock:
            pending, self._pending = self._pending, []
            loop, self._loop = self._loop, None
            thread, self._thread = self._thread, None
        try:
            for future in pending:
                future.result(timeout=TIMEOUT)
        finally:
            if loop is not None and thread is not None:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=TIMEOUT)
                loop.close()
