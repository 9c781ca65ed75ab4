"""``GET /events``: one client's Server-Sent Events stream, fed by the
``EventBroker`` (``app/events.py``, which says what the stream holds)."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app.events import EventBroker, Subscription

MEDIA_TYPE = "text/event-stream"
LAST_EVENT_ID_PARAM = "last_event_id"  # for a client that reconnects by itself
HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class EventStream(Response):
    """The open stream of one client, until it disconnects or the broker closes."""

    media_type = MEDIA_TYPE

    def __init__(self, broker: EventBroker, last_event_id: str | None) -> None:
        self.broker = broker
        self.last_event_id = last_event_id
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscription = self.broker.subscribe(self.last_event_id)
        watcher = asyncio.create_task(_close_on_disconnect(receive, subscription))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await _send_chunk(send, f"retry: {self.broker.retry_ms}\n\n".encode())
            await self._stream(subscription, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.broker.unsubscribe(subscription)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _stream(self, subscription: Subscription, send: Send) -> None:
        while not subscription.closed:
            chunk = self.broker.take(subscription)
            if chunk:
                await _send_chunk(send, chunk)  # more may be published meanwhile: take again
            else:
                await subscription.wait()


async def _send_chunk(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _close_on_disconnect(receive: Receive, subscription: Subscription) -> None:
    message: Message = {}
    try:
        while message.get("type") != "http.disconnect":
            message = await receive()
    finally:
        subscription.close()


async def stream_events(request: Request) -> Response:
    """``GET /events``: the invalidation stream (``HEAD``: its headers only)."""
    broker: EventBroker = request.app.state.events
    if request.method == "HEAD":
        return Response(media_type=MEDIA_TYPE, headers=HEADERS)
    last_event_id = request.headers.get("last-event-id") or request.query_params.get(
        LAST_EVENT_ID_PARAM
    )
    return EventStream(broker, last_event_id)
