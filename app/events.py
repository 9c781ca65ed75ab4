"""The invalidation stream: every applied invalidation, sent to every open tab.

``GET /events`` is a Server-Sent Events stream. The cache calls
``EventBroker.publish`` after each invalidation it applies (after COMMIT, and
for those other processes made, heard over Redis); each open stream sends it
as one event naming the tags that moved::

    retry: 2000

    id: 9f3c1a2b-41
    event: invalidate
    data: {"tags":["ticket:0b6f...","tickets"]}

    : keep-alive

Tags are the same for every visitor: nothing per-visitor is ever sent.
``{"tags":["*"]}`` means "assume everything moved, refresh all": the cache's
own ``EVERYTHING`` (after a lost Redis connection), or a resync.

Events are kept in one ring of ``backlog`` events shared by every stream; a
stream is a cursor into it. A publish writes the ring and schedules the wake
of every stream (at most one per ``flush`` window): synchronous, O(1), it never
waits for a reader, and a burst of writes costs the readers one chunk each, not
one per write. A stream that falls more than
``backlog`` events behind (a slow or stuck client), or that reconnects with a
``Last-Event-ID`` the ring no longer holds, gets one resync event instead of
what it missed: its backlog is bounded and dropped, never grown.

An id is ``<epoch>-<seq>``: ``seq`` counts this broker's events, ``epoch`` is
random per broker, so an id from before a restart, or from another process
behind the same load balancer, is never mistaken for one of ours: it resyncs.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from app.cache import EVERYTHING

BACKLOG = 256  # events a stream may fall behind, or miss while away, and still catch up
# Streams are woken at most once per window: a burst of writes is sent as one
# chunk per stream, so the cost of readers is bounded whatever the write rate.
# The window grows with the streams (sending one an event takes ~20 us here),
# so that waking them all never takes more than about a third of the loop.
FLUSH_SECONDS = 0.025
FLUSH_SECONDS_PER_STREAM = 60e-6
# A stream that sent nothing for a whole period gets a comment at its end: at
# most 2 x 15 s of silence, under the 60 s idle timeout of common proxies.
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000  # how long a browser waits before it reconnects
EVENT_NAME = "invalidate"
MAX_SEQ_DIGITS = 18  # a seq fits in 63 bits: a longer one was never ours
KEEPALIVE = b": keep-alive\n\n"


class Subscription:
    """One open stream: the next event it needs, what else it owes, a way to wake it."""

    __slots__ = ("_wake", "active", "closed", "next_seq", "ping", "resync")

    def __init__(self, next_seq: int, *, resync: bool) -> None:
        self.next_seq = next_seq
        self.resync = resync  # owes its client one refresh-everything event
        self.ping = False  # owes it a keep-alive comment
        self.active = True  # sent something this keep-alive period
        self.closed = False
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def wait(self) -> None:
        """Until woken. A wake that came while the stream was sending is kept:
        nothing published meanwhile waits for the next one (it may find nothing)."""
        await self._wake.wait()
        self._wake.clear()


class EventBroker:
    def __init__(
        self,
        *,
        backlog: int = BACKLOG,
        keepalive: float = KEEPALIVE_SECONDS,
        retry_ms: int = RETRY_MS,
        flush: float = FLUSH_SECONDS,
    ) -> None:
        if backlog < 1:
            raise ValueError(f"backlog must be at least 1, got {backlog}")
        self.backlog = backlog
        self.keepalive = keepalive
        self.retry_ms = retry_ms
        self.flush = flush
        self.epoch = secrets.token_hex(4)
        self.seq = 0  # the last event's number; 0 before the first
        self.resyncs = 0
        self._ring: list[bytes] = [b""] * backlog  # event n at n % backlog
        self._subscriptions: set[Subscription] = set()
        self._wakeup: asyncio.Handle | None = None  # the wake of every stream, if scheduled
        self._woken_at = float("-inf")  # loop time of the last one
        self._sweep: asyncio.TimerHandle | None = None  # the next keep-alive, while any stream
        self._closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    @property
    def last_event_id(self) -> str:
        return self.event_id(self.seq)

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}-{seq}"

    # -- writers -------------------------------------------------------------

    def publish(self, tags: frozenset[str]) -> None:
        """Record one event; schedule the streams' wake. O(1): never awaits, never blocks.

        The cache's ``on_invalidate`` listener: called after COMMIT, in the
        writer's own request, which must get its answer whatever the readers
        do. The streams are woken once this request has let go of the loop
        (it has sent its answer by then): at once after a quiet window, else
        when the window ends, with whatever came meanwhile.
        """
        self.seq += 1
        self._ring[self.seq % self.backlog] = self._frame(self.seq, tags)
        if self._wakeup is not None or not self._subscriptions:
            return
        loop = asyncio.get_running_loop()
        window = max(self.flush, len(self._subscriptions) * FLUSH_SECONDS_PER_STREAM)
        delay = self._woken_at + window - loop.time()
        if delay > 0:
            self._wakeup = loop.call_later(delay, self._wake_all)
        else:
            self._wakeup = loop.call_soon(self._wake_all)

    def _wake_all(self) -> None:
        """O(streams); each then sends what it has not sent yet, in one chunk."""
        self._wakeup = None
        self._woken_at = asyncio.get_running_loop().time()
        for subscription in self._subscriptions:
            subscription.wake()

    def close(self) -> None:
        """End every stream, and any opened from now on (the server is stopping)."""
        self._closed = True
        for handle in (self._wakeup, self._sweep):
            if handle is not None:
                handle.cancel()
        self._wakeup = self._sweep = None
        for subscription in self._subscriptions:
            subscription.close()

    # -- readers -------------------------------------------------------------

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """A stream from now on, or from after ``last_event_id`` if we still hold it."""
        seq = self.seq if not last_event_id else self._seq_of(last_event_id)
        if seq is None or seq > self.seq:  # another epoch (a restart), or garbage
            subscription = Subscription(self.seq + 1, resync=True)
        else:  # take() resyncs it too if the ring no longer holds what came after seq
            subscription = Subscription(seq + 1, resync=False)
        if self._closed:
            subscription.close()
            return subscription
        self._subscriptions.add(subscription)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self.keepalive, self._ping_idle)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        if not self._subscriptions and self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    def take(self, subscription: Subscription) -> bytes:
        """What ``subscription`` should send now, as one chunk (empty: nothing).

        Every event it has not sent yet; or one resync event, if it owes one
        or fell out of the ring; or else a keep-alive comment if it owes one.
        """
        ping, subscription.ping = subscription.ping, False
        if subscription.resync or subscription.next_seq <= self.seq - self.backlog:
            subscription.resync = False
            subscription.next_seq = self.seq + 1
            self.resyncs += 1
            chunk = self._frame(self.seq, EVERYTHING)
        elif subscription.next_seq <= self.seq:
            first, subscription.next_seq = subscription.next_seq, self.seq + 1
            chunk = b"".join(self._ring[n % self.backlog] for n in range(first, self.seq + 1))
        elif ping:
            chunk = KEEPALIVE
        else:
            return b""
        subscription.active = True
        return chunk

    def _ping_idle(self) -> None:
        """Every ``keepalive`` seconds: wake each stream that sent nothing since the last time.

        One timer for all streams, rather than one per stream re-armed at
        every event: the streams' own wake stays as cheap as it can be.
        """
        self._sweep = asyncio.get_running_loop().call_later(self.keepalive, self._ping_idle)
        for subscription in self._subscriptions:
            if not subscription.active:
                subscription.ping = True
                subscription.wake()
            subscription.active = False

    def _seq_of(self, event_id: str) -> int | None:
        epoch, _, seq = event_id.strip().rpartition("-")
        # Digits past MAX_SEQ_DIGITS are no event of ours (and int() of
        # thousands of them raises): that id resyncs, as garbage does.
        if epoch != self.epoch or not (seq.isascii() and seq.isdigit()):
            return None
        return int(seq) if len(seq) <= MAX_SEQ_DIGITS else None

    def _frame(self, seq: int, tags: frozenset[str]) -> bytes:
        data = json.dumps({"tags": sorted(tags)}, separators=(",", ":"))
        return f"id: {self.event_id(seq)}\nevent: {EVENT_NAME}\ndata: {data}\n\n".encode()

    # -- metrics -------------------------------------------------------------

    def instrument(self, registry: CollectorRegistry) -> None:
        """Export the number of streams, events and resyncs in ``registry``."""
        registry.register(_BrokerCollector(self))


class _BrokerCollector:
    def __init__(self, broker: EventBroker) -> None:
        self.broker = broker

    def collect(self) -> Iterator[Metric]:
        broker = self.broker
        yield GaugeMetricFamily(
            "events_subscribers", "Open /events streams.", value=broker.subscribers
        )
        yield CounterMetricFamily(
            "events_published", "Invalidation events published.", value=broker.seq
        )
        yield CounterMetricFamily(
            "events_resyncs",
            "Refresh-everything events sent instead of missed events.",
            value=broker.resyncs,
        )
