"""A stop signal ends the event streams at once, not after the server's grace.

A server stopped by SIGTERM (or Ctrl-C's SIGINT) waits for its open requests,
for up to ``GRACE_SECONDS`` (app/serve.py). An event stream never ends by
itself, so each held every stop, restart and deploy of its process for the
whole grace, and its browser reconnected (to another process) only then.

``on_stop_signal`` chains a handler before the server's own, for as long as
the app runs (its lifespan): it schedules ``callback`` on the app's loop and
hands the signal on. Only where the server handles the signal in Python
(uvicorn: a stop with two streams open took 5.2 s, now 0.2 s); a server that
handles it natively (granian, which ends them in 0.06 s already) or not at
all keeps its own way, and so does a thread that is not the main one, where
Python delivers no signal.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def on_stop_signal(callback: Callable[[], None]) -> Iterator[None]:
    """Run ``callback`` on this loop as soon as the server is told to stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    chained: dict[int, Callable[[int, FrameType | None], object]] = {}
    running = True  # this app's lifespan; after it, the handler only hands on

    def handle(signum: int, frame: FrameType | None) -> None:
        if running and not loop.is_closed():
            loop.call_soon_threadsafe(callback)
        chained[signum](signum, frame)

    for stop in STOP_SIGNALS:
        server_handler = signal.getsignal(stop)
        if callable(server_handler) and server_handler is not signal.default_int_handler:
            chained[stop] = server_handler
            signal.signal(stop, handle)
    try:
        yield
    finally:
        running = False
        for signum, server_handler in chained.items():
            # Another app of this process (a test's) may have chained after this
            # one and still run: then this handler stays in its chain, handing on.
            if signal.getsignal(signum) is handle:
                signal.signal(signum, server_handler)
