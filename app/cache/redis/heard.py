"""How far this process has heard the invalidation channel, and waiting to hear more.

Every bump is published in the round trip that stamps it (``lua.BUMP``), with
its clock value, and Redis runs scripts one at a time: the channel carries
bumps in clock order, and a subscriber gets them in that order. So once a
message of clock ``c`` has been handled here (its copies dropped, its renders
in flight forgotten, its listeners told), every bump up to ``c`` has been:
``Heard.clock`` is that ``c``. A (re)subscription publishes a *sync* message
carrying the clock as it then is (``lua.SYNC``): bumps from before the
subscription were never heard, but they are in Redis, which every read after
the subscription sees, and the copies of before were dropped.

A visitor's read-after clock (their last write's) is honoured by a process
that has heard up to it: ``reach`` waits for that, a little, or says no (then
the request reads through: no copy of this process is used).
"""

from __future__ import annotations

import asyncio

# How long a read waits for this process to hear its visitor's last write:
# the channel takes well under a millisecond; past this, the read goes through.
READ_AFTER_WAIT = 0.15


class Heard:
    """The clock up to which every bump has been heard, and the reads that wait for more."""

    def __init__(self) -> None:
        self.clock = 0
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    def advance(self, clock: int) -> None:
        """Everything up to ``clock`` has been handled: wake the reads waiting for it."""
        if clock <= self.clock:
            return
        self.clock = clock
        still: list[tuple[int, asyncio.Future[None]]] = []
        for wanted, waiter in self._waiting:
            if wanted > clock:
                still.append((wanted, waiter))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiting = still

    async def reach(self, clock: int, timeout: float = READ_AFTER_WAIT) -> bool:
        """Whether every bump up to ``clock`` has been heard, waiting up to ``timeout``."""
        if clock <= self.clock:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append((clock, waiter))
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:  # heard, timed out or cancelled: no longer waiting
            self._waiting = [(c, w) for c, w in self._waiting if w is not waiter]
        return True
