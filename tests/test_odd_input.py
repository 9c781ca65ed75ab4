"""Odd values in every parsed place: a 200 or a 400, never a 5xx.

Cursors (the list's ``cursor`` and its windows' ``until``), the read-after
cookie, dates the app's clock may reach (far past 2041, where the search
index's old key overflowed), and a live window after more new tickets than
an entry could once hold. Runs on memory + SQLite and on Redis + PostgreSQL.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from app.models import Ticket
from app.seed import seed_many
from app.settings import Settings
from app.tickets.filters import BAD_CURSOR, MAX_WINDOW, Cursor
from harness.client import sign_up_async
from tests.helpers import HTMX, add_ticket, set_clock, sign_in

ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row')
FIRST_WINDOW = re.compile(r'id="list-page-first"[^>]* data-live-src="([^"]+)"')
TICKET_ID = "0b6f0f4e-1111-4222-8333-444455556666"


def cursor_of(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


REFUSED = [
    pytest.param(cursor_of(f"9999-12-31T23:59:59-23:59|{TICKET_ID}"), id="year-9999-minus-23-59"),
    pytest.param(cursor_of(f"0001-01-01T00:00:00+01:00|{TICKET_ID}"), id="year-1-at-plus-01-00"),
    pytest.param(cursor_of(f"{'9' * 5000}|{TICKET_ID}"), id="5000-digit-date"),
    pytest.param(cursor_of("2026-01-01T00:00:00|a\x00b"), id="nul-in-the-id"),
    pytest.param(cursor_of("2026-01-01T00:00:00|" + "x" * 37), id="37-character-id"),
    pytest.param(cursor_of(b"\xff\xfe|x"), id="not-utf-8"),
    pytest.param("%%%", id="bad-base64"),
    pytest.param("QQ", id="no-separator"),
    pytest.param("9" * 5000, id="5000-digits"),
]
SERVED = [
    pytest.param(cursor_of(f"2100-01-01T00:00:00+00:00|{TICKET_ID}"), id="year-2100"),
    pytest.param(cursor_of(f"2041-05-12T00:00:00+00:00|{TICKET_ID}"), id="past-2041-05-11"),
    pytest.param(cursor_of(f"1969-07-20T20:17:40+00:00|{TICKET_ID}"), id="before-1970"),
    pytest.param(cursor_of(f"0001-01-01T00:00:00+00:00|{TICKET_ID}"), id="year-1"),
    pytest.param(cursor_of(f"9999-12-31T23:59:59.999999+00:00|{TICKET_ID}"), id="year-9999"),
]
URLS = [
    pytest.param("/tickets", id="list"),
    pytest.param("/tickets?q=a", id="search"),
    pytest.param("/tickets?q=a&status=OPEN", id="filtered-search"),
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("cursor", REFUSED)
async def test_a_cursor_no_list_made_is_a_400(
    client: httpx.AsyncClient, url: str, cursor: str
) -> None:
    for name, source in (("cursor", url), ("until", url.replace("/tickets", "/fragments/tickets"))):
        response = await client.get(httpx.URL(source).copy_merge_params({name: cursor}))
        assert (response.status_code, response.text) == (400, BAD_CURSOR), (name, source)


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("cursor", SERVED)
async def test_a_cursor_at_any_date_a_datetime_holds_is_served(
    app: Starlette, client: httpx.AsyncClient, url: str, cursor: str
) -> None:
    await add_ticket(app, title="a ticket")
    for name, source in (("cursor", url), ("until", url.replace("/tickets", "/fragments/tickets"))):
        response = await client.get(httpx.URL(source).copy_merge_params({name: cursor}))
        assert response.status_code == 200, (name, source, response.text[:300])


@pytest.mark.parametrize(
    "value",
    [pytest.param(b"9" * 5000, id="5000-digits"), pytest.param("²".encode(), id="superscript")],
)
async def test_a_read_after_cookie_that_is_no_clock_is_ignored(
    app: Starlette, visitor: httpx.AsyncClient, value: bytes
) -> None:
    await add_ticket(app)
    cookie = {"Cookie": b"cache-read-after=" + value}
    for url in ("/tickets", "/tickets", "/", "/fragments/tickets"):
        assert (await visitor.get(url, headers=cookie)).status_code == 200


async def test_tickets_made_in_2100_are_listed_searched_paged_and_deleted(
    app: Starlette, visitor: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_clock(monkeypatch, datetime(2100, 1, 1, tzinfo=UTC))
    client = visitor
    await sign_in(app, client, "Ada")  # a session that lasts in 2100
    for n in range(3):
        made = await client.post("/tickets", data={"title": f"Apollo {n}", "content": "far"})
        assert (made.status_code, made.headers["location"]) == (303, "/tickets")
    listed = ROW.findall((await client.get("/tickets")).text)
    found = ROW.findall((await client.get("/tickets", params={"q": "apol"})).text)
    async with app.state.db.session() as session:
        newest = await session.get(Ticket, listed[0])
    assert newest is not None and newest.created_at.year == 2100
    older = await client.get("/tickets", params={"q": "apol", "cursor": Cursor.of(newest).encode()})

    assert len(listed) == 3 and found == listed  # newest first in both
    assert ROW.findall(older.text) == listed[1:]
    updated = await client.post(f"/tickets/{listed[1]}/update", data={"title": "Gemini"})
    assert updated.status_code == 303
    deleted = await client.post(f"/tickets/{listed[0]}/delete")
    assert deleted.status_code == 303
    assert ROW.findall((await client.get("/tickets", params={"q": "apol"})).text) == [listed[2]]
    assert ROW.findall((await client.get("/tickets", params={"q": "gem"})).text) == [listed[1]]


async def test_a_live_window_after_any_number_of_new_tickets_is_served_and_capped(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_many(settings.database_url, 10)
    for n in range(60):
        await add_ticket(app, title=f"an old ticket {n}")
    sources = []
    for url in ("/tickets", "/tickets?status=OPEN&q=ticket"):  # the fewest tags, and the most
        window = FIRST_WINDOW.search((await client.get(url)).text)
        assert window is not None and "until=" in window.group(1)
        sources.append(window.group(1).replace("&amp;", "&"))
    for n in range(MAX_WINDOW + 10):  # more than the cap, once the window's own 50 are counted
        await add_ticket(app, title=f"a new ticket {n}")

    for source in sources:
        refetched = await client.get(source, headers=HTMX)
        assert refetched.status_code == 200, refetched.text[:300]
        assert len(ROW.findall(refetched.text)) == MAX_WINDOW
        assert 'rel="next"' in refetched.text  # the rows cut off are one "Load more" away


async def test_the_harness_signs_up_a_name_with_spaces(visitor: httpx.AsyncClient) -> None:
    """scripts/soak signs up "Soak 3": its email must still be one (it was a 422)."""
    assert await sign_up_async(visitor, name="Soak 3 (ops)")
