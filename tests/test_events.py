"""GET /events: one event per applied invalidation, replay, resync, keep-alive, no leak.

httpx's ASGITransport reads a whole response before it returns, and this one
never ends; so ``Stream`` calls the ASGI app itself, with a ``receive`` that
says ``http.disconnect`` when the test says so and a ``send`` that can be
held shut (a slow client). Every step waits for what the stream sent, never
for time to pass; ``WAIT`` only turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.assets import static_files
from app.cache.invalidation import EVERYTHING
from app.events import KEEPALIVE, EventBroker
from app.main import create_app
from app.models import Ticket
from app.settings import Settings
from tests.helpers import HTMX, add_ticket, sign_in

WAIT = 5.0


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    tags: list[str]


class Stream:
    """One ``GET /events`` of ``app``, driven by hand."""

    def __init__(self, app: Starlette, *, last_event_id: str = "", query: str = "") -> None:
        self.app = app
        headers = [(b"host", b"localhost")]
        if last_event_id:
            headers.append((b"last-event-id", last_event_id.encode()))
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/events",
            "raw_path": b"/events",
            "root_path": "",
            "query_string": query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
            "state": {},
        }
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.chunks: list[bytes] = []  # each body send
        self.ended = False
        self.gate = asyncio.Event()  # sends wait while it is clear: a slow client
        self.gate.set()
        self.held = asyncio.Event()  # a send is waiting at the gate
        self._changed = asyncio.Condition()
        self._requested = False
        self._disconnected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        self._task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        await self.until(lambda: self.status is not None)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()

    async def disconnect(self) -> None:
        self._disconnected.set()
        self.gate.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, WAIT)

    async def _receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.gate.is_set():
            self.held.set()
            await self.gate.wait()
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        else:
            self.body += message.get("body", b"")
            self.chunks.append(message.get("body", b""))
            self.ended = not message.get("more_body", False)
        async with self._changed:
            self._changed.notify_all()

    async def until(self, condition: Callable[[], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), WAIT)

    @property
    def events(self) -> list[Event]:
        found = []
        for frame in self.body.decode().split("\n\n"):
            fields = dict(
                line.split(": ", 1) for line in frame.splitlines() if not line.startswith(":")
            )
            if "event" in fields:
                data = json.loads(fields["data"])
                assert list(data) == ["tags"], "an event names tags, nothing else"
                found.append(Event(fields["id"], fields["event"], data["tags"]))
        return found

    async def events_until(self, tag: str) -> list[Event]:
        """Every event up to the first naming ``tag`` (a marker), that one excluded."""
        await self.until(lambda: any(tag in event.tags for event in self.events))
        events = self.events
        return events[: next(i for i, event in enumerate(events) if tag in event.tags)]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The memory cache, whatever TEST_CACHE_URL says: a Redis store's listener
    publishes an EVERYTHING of its own when it starts, at a moment no test controls."""
    return dataclasses.replace(settings, cache_url="memory://")


@asynccontextmanager
async def serving(settings: Settings, broker: EventBroker) -> AsyncIterator[Starlette]:
    app = create_app(settings, events=broker)
    async with app.router.lifespan_context(app):
        yield app


async def invalidate(app: Starlette, tag: str) -> None:
    """Outside a transaction an invalidation applies (and is published) at once."""
    await app.state.cache.revalidate_tag(tag)


def client_of(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


# -- the stream --------------------------------------------------------------


async def test_the_stream_is_an_uncached_event_stream(app: Starlette) -> None:
    async with Stream(app) as stream:
        await stream.until(lambda: stream.body.startswith(b"retry: 2000\n\n"))
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"  # nginx: do not buffer it
        assert "content-length" not in stream.headers
        assert "x-cache" not in stream.headers  # not served through the cache


async def test_head_gets_the_headers_and_no_stream(client: httpx.AsyncClient) -> None:
    response = await client.head("/events")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"


async def test_a_committed_write_sends_one_event_naming_its_tags(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    async with Stream(app) as stream:
        deleted = await client.post(f"/tickets/{ticket.id}/delete")
        await invalidate(app, "marker")

        events = await stream.events_until("marker")

    assert deleted.status_code == 303
    assert [(event.name, event.tags) for event in events] == [
        (
            "invalidate",
            [  # derived from the rows the delete changed (app/deps)
                "deleted_ticket",  # the row an undo restores
                f"deleted_ticket:{ticket.id}",
                "deleted_ticket?",
                "deleted_ticket?status=OPEN",
                "ticket",
                f"ticket:{ticket.id}",
                "ticket?",
                "ticket?assignee_id=None",
                "ticket?status=OPEN",
                "ticket_change",  # its history: the delete is recorded
                "ticket_change:1",
                "ticket_change?",
                f"ticket_change?ticket_id={ticket.id}",
                "ticket_count",  # kept by triggers from ticket.status
                "ticket_count:OPEN",
                "ticket_count?",
            ],
        )
    ]


async def test_the_event_is_published_after_commit_not_when_the_tag_is_revalidated(
    app: Starlette,
) -> None:
    broker: EventBroker = app.state.events
    async with Stream(app) as stream:
        async with app.state.db.transaction() as session:
            session.add(Ticket(title="New", content="Body"))
            await app.state.cache.revalidate_tag("weather")  # data from elsewhere, with it
            await session.flush()
            assert broker.seq == 0  # queued for after COMMIT
        assert broker.seq == 1
        await invalidate(app, "marker")

        [tags] = [event.tags for event in await stream.events_until("marker")]
    assert "weather" in tags and "ticket?" in tags


async def test_a_rolled_back_write_sends_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    async with Stream(app) as stream:
        with pytest.raises(RuntimeError):
            async with app.state.db.transaction() as session:
                session.add(Ticket(title="Never", content="Rolled back"))
                await app.state.cache.revalidate_tag("tickets")
                raise RuntimeError("rollback")
        not_found = await client.post("/tickets/no-such-id/delete")
        invalid = await client.post("/tickets", data={"title": "", "content": ""})
        await invalidate(app, "marker")

        assert await stream.events_until("marker") == []
    assert (not_found.status_code, invalid.status_code) == (404, 422)


async def test_every_stream_gets_every_event_in_order(app: Starlette) -> None:
    async with Stream(app) as first, Stream(app) as second:
        for tag in ("a", "b", "c"):
            await invalidate(app, tag)
        await invalidate(app, "marker")

        heard = [await stream.events_until("marker") for stream in (first, second)]

    assert heard[0] == heard[1]
    assert [event.tags for event in heard[0]] == [["a"], ["b"], ["c"]]
    assert [event.id for event in heard[0]] == [app.state.events.event_id(n) for n in (1, 2, 3)]


async def test_everything_from_the_cache_is_sent_as_refresh_everything(app: Starlette) -> None:
    async with Stream(app) as stream:
        app.state.events.publish(EVERYTHING)  # what the cache says after a lost Redis link
        await invalidate(app, "marker")

        assert [event.tags for event in await stream.events_until("marker")] == [["*"]]


# -- reconnecting ------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "query"])
async def test_a_client_that_reconnects_with_last_event_id_gets_what_it_missed(
    app: Starlette, how: str
) -> None:
    async with Stream(app) as before:
        for tag in ("a", "b", "c"):
            await invalidate(app, tag)
        await before.until(lambda: len(before.events) == 3)
    await invalidate(app, "while-away")
    seen = before.events[0].id

    again = (
        Stream(app, last_event_id=seen)
        if how == "header"
        else Stream(app, query=f"last_event_id={seen}")
    )
    async with again:
        await invalidate(app, "marker")
        replayed = await again.events_until("marker")

    assert replayed == [*before.events[1:], Event(replayed[-1].id, "invalidate", ["while-away"])]
    assert replayed[-1].id == app.state.events.event_id(4)


async def test_the_header_wins_over_the_query_when_the_browser_reconnects(
    app: Starlette,
) -> None:
    """live.js puts the id it had in the URL; the browser then sends newer ones."""
    for tag in ("a", "b"):
        await invalidate(app, tag)
    broker: EventBroker = app.state.events
    stream = Stream(app, last_event_id=broker.event_id(1), query="last_event_id=nonsense")
    async with stream:
        await invalidate(app, "marker")

        assert [event.tags for event in await stream.events_until("marker")] == [["b"]]


async def test_a_client_that_missed_nothing_gets_nothing(app: Starlette) -> None:
    await invalidate(app, "a")
    async with Stream(app, last_event_id=app.state.events.last_event_id) as stream:
        await invalidate(app, "marker")

        assert await stream.events_until("marker") == []


async def test_the_backlog_replays_exactly_as_many_events_as_it_holds(
    settings: Settings,
) -> None:
    async with serving(settings, EventBroker(backlog=4)) as app:
        for n in range(6):
            await invalidate(app, f"t{n + 1}")
        broker: EventBroker = app.state.events
        async with Stream(app, last_event_id=broker.event_id(2)) as held:
            # No marker: a seventh event would push t3 out of the ring before it is sent.
            await held.until(lambda: len(held.events) == 4)

            assert [e.tags for e in held.events] == [["t3"], ["t4"], ["t5"], ["t6"]]


@pytest.mark.parametrize(
    "last_event_id",
    [
        pytest.param(lambda b: b.event_id(1), id="too-old"),
        pytest.param(lambda b: "0000dead-3", id="another-epoch"),
        pytest.param(lambda b: b.event_id(99), id="from-the-future"),
        pytest.param(lambda b: "not an id", id="garbage"),
        pytest.param(lambda b: f"{b.epoch}-{'9' * 5000}", id="5000-digits"),
        pytest.param(lambda b: f"{b.epoch}-{'0' * 30}6", id="zero-padded-past-the-limit"),
    ],
)
async def test_a_last_event_id_we_cannot_replay_gets_one_refresh_everything(
    settings: Settings, last_event_id: Callable[[EventBroker], str]
) -> None:
    async with serving(settings, EventBroker(backlog=4)) as app:
        broker: EventBroker = app.state.events
        for n in range(6):
            await invalidate(app, f"t{n + 1}")
        async with Stream(app, last_event_id=last_event_id(broker)) as stream:
            await stream.until(lambda: len(stream.events) == 1)
            await invalidate(app, "marker")
            events = await stream.events_until("marker")

    assert events == [Event(broker.event_id(6), "invalidate", ["*"])]
    assert broker.resyncs == 1


async def test_a_last_event_id_of_5000_digits_in_the_query_is_a_200_and_a_resync(
    app: Starlette,
) -> None:
    broker: EventBroker = app.state.events
    await invalidate(app, "before")
    async with Stream(app, query=f"last_event_id={broker.epoch}-{'7' * 5000}") as stream:
        await stream.until(lambda: len(stream.events) == 1)

    assert stream.status == 200
    assert stream.events == [Event(broker.event_id(1), "invalidate", ["*"])]


# -- slow clients --------------------------------------------------------------


async def test_a_slow_client_is_resynced_and_never_blocks_the_writer(settings: Settings) -> None:
    assert not inspect.iscoroutinefunction(EventBroker.publish)  # nothing in it can wait
    broker = EventBroker(backlog=4, flush=0)  # each event wakes the fast stream at once
    async with serving(settings, broker) as app, client_of(app) as client:
        await sign_in(app, client, "Ada")
        tickets = [await add_ticket(app, title=f"Ticket {n}") for n in range(10)]
        before = app.state.events.seq  # the adds' own events, sent to nobody
        async with Stream(app) as slow, Stream(app) as fast:
            slow.gate.clear()
            await invalidate(app, "first")
            await asyncio.wait_for(slow.held.wait(), WAIT)  # stuck sending "first"

            for ticket in tickets:  # each answered while the slow client is stuck
                deleted = await asyncio.wait_for(client.post(f"/tickets/{ticket.id}/delete"), WAIT)
                assert deleted.status_code == 303
            await invalidate(app, "marker")
            fast_events = await fast.events_until("marker")
            assert len(fast_events) == 11  # the others get everything meanwhile
            assert not slow.events

            slow.gate.set()
            await slow.until(lambda: len(slow.events) == 2)
            await invalidate(app, "after")
            slow_events = await slow.events_until("after")

    # What it missed (the deletes and the marker) is dropped for one resync...
    assert [event.tags for event in slow_events] == [["first"], ["*"]]
    # ...that catches up to the marker
    assert slow_events[1].id == app.state.events.event_id(before + 12)
    assert app.state.events.resyncs == 1


async def test_a_burst_of_events_reaches_each_stream_as_one_chunk_per_window(
    settings: Settings,
) -> None:
    """The first event after a quiet window goes at once; what follows within the
    window waits for its end and goes together: readers cost one send per window."""
    async with serving(settings, EventBroker(flush=0.05)) as app, Stream(app) as stream:
        loop = asyncio.get_running_loop()
        await invalidate(app, "a")
        await stream.until(lambda: len(stream.events) == 1)
        first_at = loop.time()
        sends = len(stream.chunks)
        for tag in ("b", "c", "d"):
            await invalidate(app, tag)
        await stream.until(lambda: len(stream.events) == 4)

        assert loop.time() - first_at >= 0.04  # held to the end of the window...
        assert len(stream.chunks) == sends + 1  # ...then sent in one chunk
        assert [event.tags for event in stream.events] == [["a"], ["b"], ["c"], ["d"]]


# -- keep-alive and leaks ---------------------------------------------------------


async def test_an_idle_stream_sends_keep_alive_comments(settings: Settings) -> None:
    async with serving(settings, EventBroker(keepalive=0.01)) as app, Stream(app) as stream:
        await stream.until(lambda: stream.body.count(KEEPALIVE) >= 2)

        assert stream.body.startswith(b"retry: 2000\n\n")
        assert stream.events == []


async def test_the_stream_ends_when_the_broker_closes(app: Starlette) -> None:
    async with Stream(app) as stream:
        app.state.events.close()

        await stream.until(lambda: stream.ended)
    assert app.state.events.subscribers == 0


async def test_a_stream_opened_once_the_broker_closed_ends_at_once(app: Starlette) -> None:
    """The server is stopping (app/stop_signal.py): a late stream must not hold it."""
    app.state.events.close()
    async with Stream(app) as stream:
        await stream.until(lambda: stream.ended)

    assert stream.body == b"retry: 2000\n\n"
    assert app.state.events.subscribers == 0


async def test_the_stream_never_leaks(app: Starlette, client: httpx.AsyncClient) -> None:
    """After 1,000 connect/disconnect cycles the number of subscriptions is back to zero."""
    broker: EventBroker = app.state.events
    for _ in range(1000):
        async with Stream(app):
            assert broker.subscribers == 1
    assert broker.subscribers == 0

    async with Stream(app), Stream(app):
        assert subscribers_gauge((await client.get("/metrics")).text) == 2
    assert subscribers_gauge((await client.get("/metrics")).text) == 0


def subscribers_gauge(metrics: str) -> float:
    match = re.search(r"^events_subscribers (\S+)$", metrics, re.MULTILINE)
    assert match, "no events_subscribers gauge in /metrics"
    return float(match[1])


# -- what the listening fragments re-fetch -----------------------------------------


async def test_each_live_fragment_declares_its_tags_and_source(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    listing = (await client.get("/tickets")).text
    detail = (await client.get(f"/tickets/{ticket.id}")).text

    live = re.compile(r'id="([\w-]+)"[^>]* data-live-tags="([^"]*)" data-live-src="([^"]*)"')
    # Each declares the dependencies of its own reads: the counts their rows,
    # the list page its membership and its order, each row its ticket (a row
    # refreshes itself; the page does not for it).
    counts = "ticket_count:DONE ticket_count:IN_PROGRESS ticket_count:OPEN ticket_count?"
    assert {found[0]: found[1:] for found in live.findall(listing)} == {
        "ticket-counts": (counts, "/fragments/counts"),
        "list-page-first": ("ticket.created_at ticket.id ticket?", "/fragments/tickets"),
        f"ticket-{ticket.id}": (f"ticket:{ticket.id}", f"/fragments/tickets/{ticket.id}/row"),
    }
    assert (
        f'<div id="ticket-view" data-live-tags="ticket:{ticket.id}" '
        f'data-live-src="/fragments/tickets/{ticket.id}">' in detail
    )
    assert f'<script src="{static_files.url("live.js")}" data-events="/events"' in detail


async def test_the_list_fragment_is_the_list_of_the_list_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_ticket(app, title="First")
    await add_ticket(app, title="Second")

    page = (await client.get("/tickets")).text
    fragment = await client.get("/fragments/tickets", headers=HTMX)

    assert fragment.status_code == 200
    assert fragment.headers["x-cache"] == "MISS"
    assert fragment.text.startswith('<ul id="list-page-first"')
    assert fragment.text in page
    assert (await client.get("/fragments/tickets", headers=HTMX)).headers["x-cache"] == "HIT"


async def test_the_list_fragment_is_revalidated_by_a_delete(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Going")
    await client.get("/fragments/tickets", headers=HTMX)

    await client.post(f"/tickets/{ticket.id}/delete")
    fresh = await client.get("/fragments/tickets", headers=HTMX)

    assert fresh.headers["x-cache"] == "MISS"
    assert f'id="ticket-{ticket.id}"' not in fresh.text


async def test_the_ticket_fragment_is_the_ticket_page_main_fragment(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    main = await client.get(f"/tickets/{ticket.id}", headers=HTMX)
    fragment = await client.get(f"/fragments/tickets/{ticket.id}", headers=HTMX)

    assert fragment.status_code == 200
    # The page's partial starts with the fragment, led by the tab's title; the
    # comments and the history follow it, live fragments of their own.
    assert main.text.startswith(
        f"<title>{ticket.title} · Tickets, on-demand</title>{fragment.text}"
    )
    assert fragment.text.startswith('<div id="ticket-view"')
    assert 'id="comments"' not in fragment.text and 'id="comments"' in main.text
    again = await client.get(f"/fragments/tickets/{ticket.id}", headers=HTMX)
    assert again.headers["x-cache"] == "HIT"


async def test_a_deleted_ticket_fragment_says_so_with_a_200_and_listens_for_an_undo(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await client.get(f"/fragments/tickets/{ticket.id}", headers=HTMX)
    await client.post(f"/tickets/{ticket.id}/delete")

    gone = [await client.get(f"/fragments/tickets/{ticket.id}", headers=HTMX) for _ in "ab"]

    assert [response.headers["x-cache"] for response in gone] == ["MISS", "HIT"]
    for response in gone:
        assert response.status_code == 200  # a 404 would be a failed load in the console
        assert response.text.startswith('<section id="ticket-view"')
        assert "This ticket was deleted" in response.text
        assert 'href="/tickets"' in response.text
        tags = re.search(r'data-live-tags="([^"]*)"', response.text)
        assert tags is not None and tags.group(1)  # an undo moves them: the tab shows it again
    assert (await client.get(f"/tickets/{ticket.id}")).status_code == 404  # the page still is

    await client.post(f"/tickets/{ticket.id}/restore")
    back = await client.get(f"/fragments/tickets/{ticket.id}", headers=HTMX)
    assert back.headers["x-cache"] == "MISS"
    assert back.text.startswith('<div id="ticket-view"')


async def test_a_fragment_of_a_ticket_that_cannot_come_back_is_never_stored(
    client: httpx.AsyncClient,
) -> None:
    never = "00000000-0000-4000-8000-000000000000"  # any id would get one: none is kept
    gone = [await client.get(f"/fragments/tickets/{never}", headers=HTMX) for _ in "ab"]

    for response in gone:
        assert response.status_code == 200
        assert response.headers["x-cache"] == "BYPASS"
        assert "This ticket was deleted" in response.text
        assert 'data-live-tags=""' in response.text  # nothing to listen for
