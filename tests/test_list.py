"""The list at scale: pages, filters, search, canonical keys, and writes that cost one row.

Runs on memory + SQLite and on Redis + PostgreSQL (scripts/test runs both).
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from starlette.applications import Starlette

from app.models import Ticket, TicketStatus, User
from app.seed import seed_many
from app.settings import Settings
from app.tickets import queries
from app.tickets.filters import ListQuery
from tests.helpers import HTMX, add_ticket, count_row_renders

ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row')
NEXT = re.compile(r'<a rel="next" class="button" href="([^"]+)"')


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def next_link(html: str) -> str | None:
    found = NEXT.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_a_large_list_is_paged_by_cursor_and_a_delete_leaves_its_page(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_many(settings.database_url, 20_000)

    first = await client.get("/tickets")
    pages = [rows(first.text)]
    url = next_link(first.text)
    for _ in range(4):
        assert url is not None
        pages.append(rows((await client.get(url)).text))
        url = next_link((await client.get(url)).text)

    assert len(first.content) <= 250_000
    assert [len(page) for page in pages] == [50] * 5
    assert len({ticket for page in pages for ticket in page}) == 250  # disjoint
    page_two = next_link(first.text)
    assert page_two is not None
    doomed = pages[1][7]
    assert (await client.post(f"/tickets/{doomed}/delete")).status_code == 303
    again = rows((await client.get(page_two)).text)
    assert doomed not in again
    assert again[:7] == pages[1][:7] and len(again) == 50  # the next row moved up


async def test_pages_are_newest_first_and_stable_while_tickets_are_created(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_many(settings.database_url, 120)
    first = await client.get("/tickets")
    page_two = next_link(first.text)
    assert page_two is not None
    before = rows((await client.get(page_two)).text)

    await client.post("/tickets", data={"title": "Arrived late", "content": "After page 1"})
    after = rows((await client.get(page_two)).text)
    top = (await client.get("/tickets")).text

    assert after == before  # a cursor page does not shift when a ticket arrives
    first_title = re.search(r'class="ticket-row__title"[^>]*>([^<]*)<', top)
    assert first_title is not None and first_title.group(1) == "Arrived late"
    assert rows(top)[1:] == rows(first.text)[:49]


async def test_the_status_filter_shows_one_status_and_marks_its_card(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    done = await add_ticket(app, title="Finished", status=TicketStatus.DONE)
    await add_ticket(app, title="Still open")

    response = await client.get("/tickets?status=DONE")

    assert rows(response.text) == [done.id]
    assert 'href="/tickets?status=DONE" aria-current="page"' in response.text
    assert response.text.count('aria-current="page"') == 1


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/tickets?status=CLOSED", id="list"),
        pytest.param("/fragments/tickets?status=open", id="source"),
        pytest.param("/fragments/counts?status=x", id="counts"),
    ],
)
async def test_an_unknown_status_is_a_400_with_a_message(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.get(url)

    assert response.status_code == 400
    assert response.text == "Unknown status; use one of OPEN, IN_PROGRESS, DONE."


@pytest.mark.parametrize(
    ("q", "found"),
    [
        pytest.param("cafe", True, id="no-accent"),
        pytest.param("CAFÉ crem", True, id="upper-case-prefix"),
        pytest.param("crème café", True, id="any-order"),
        pytest.param("caf brul", True, id="prefixes-in-content"),
        pytest.param("cafe tea", False, id="every-word-must-match"),
        pytest.param("afe", False, id="prefix-not-infix"),
    ],
)
async def test_search_finds_words_by_prefix_ignoring_case_and_accents(
    app: Starlette, client: httpx.AsyncClient, q: str, found: bool
) -> None:
    ticket = await add_ticket(app, title="Café crème is cold", content="Served after the brûlée.")
    await add_ticket(app, title="Tea is fine", content="Nothing to see.")

    response = await client.get("/tickets", params={"q": q})

    assert response.status_code == 200
    assert rows(response.text) == ([ticket.id] if found else [])


async def test_search_follows_an_edit_and_a_status_change_keeps_the_words(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Printer jams", content="Tray two.")

    await client.post(f"/tickets/{ticket.id}/update", data={"status": "DONE"})
    kept = await client.get("/tickets", params={"q": "printer tray"})
    await client.post(f"/tickets/{ticket.id}/update", data={"title": "Scanner jams"})
    old = await client.get("/tickets", params={"q": "printer"})
    new = await client.get("/tickets", params={"q": "scanner tray"})

    assert (rows(kept.text), rows(old.text), rows(new.text)) == ([ticket.id], [], [ticket.id])


@pytest.mark.parametrize(
    "q",
    [
        pytest.param('"unbalanced', id="quote"),
        pytest.param("*", id="star"),
        pytest.param("NEAR(a b)", id="near"),
        pytest.param("-printer", id="minus"),
        pytest.param("printer OR tray", id="or"),
        pytest.param("a:* & !b | c", id="tsquery-syntax"),
        pytest.param("printer\x00tray", id="nul"),
        pytest.param("x" * 499, id="long-word"),
        pytest.param("🔥 ☃", id="no-words"),
    ],
)
async def test_user_text_is_data_never_query_syntax(
    app: Starlette, client: httpx.AsyncClient, q: str
) -> None:
    await add_ticket(app, title="Printer tray", content="OR near the printer")

    response = await client.get("/tickets", params={"q": q})

    assert response.status_code == 200


async def test_a_search_of_5000_characters_is_refused_clearly(client: httpx.AsyncClient) -> None:
    response = await client.get("/tickets", params={"q": "word " * 1000})

    assert response.status_code == 400
    assert response.text == "The search is at most 500 characters (5000 given)."


async def test_a_cursor_that_is_not_ours_is_a_400(client: httpx.AsyncClient) -> None:
    for cursor in ("nonsense!", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMVQwMDowMDowMHw"):
        response = await client.get("/tickets", params={"cursor": cursor})
        assert (response.status_code, response.text) == (
            400,
            "This page link is not valid: start again from the list.",
        )


async def test_other_query_parameters_are_served_from_the_same_entry(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_ticket(app)
    plain = await client.get("/tickets")
    tracked = await client.get("/tickets?utm_source=x&fbclid=abc")
    searched = await client.get("/tickets?q=PRINTER&junk=1")
    same_search = await client.get("/tickets?q=printer")

    assert plain.headers["x-cache"] == "MISS"
    assert (tracked.headers["x-cache"], tracked.headers["etag"]) == ("HIT", plain.headers["etag"])
    assert searched.headers["x-cache"] == "MISS"
    assert (same_search.headers["x-cache"], same_search.headers["etag"]) == (
        "HIT",
        searched.headers["etag"],
    )


async def test_after_a_write_the_list_renders_one_row_and_the_page_around_it(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [await add_ticket(app, title=f"Ticket {n}") for n in range(30)]
    await client.get("/tickets")
    rendered = count_row_renders(monkeypatch)
    changed = tickets[12]
    await client.post(f"/tickets/{changed.id}/update", data={"status": "DONE"})

    after = await client.get("/tickets")

    assert after.headers["x-cache"] == "MISS"
    assert rendered == [changed.id]
    assert f'<li id="ticket-{changed.id}" class="ticket-row status-done"' in after.text


async def test_a_list_window_runs_from_the_top_down_to_its_last_row(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_many(settings.database_url, 60)
    first = await client.get("/tickets")
    shown = rows(first.text)
    window = re.search(r'id="list-page-first"[^>]* data-live-src="([^"]+)"', first.text)
    assert window is not None and "until=" in window.group(1)
    newest = await add_ticket(app, title="Joins the window at the top")  # no invalidation:
    source = window.group(1).replace("&amp;", "&")  # the window's source is not cached yet

    refetched = await client.get(source, headers=HTMX)

    assert rows(refetched.text) == [newest.id, *shown]  # nobody fell off the bottom


async def test_inline_create_prepends_the_row_only_to_a_list_it_belongs_in(
    client: httpx.AsyncClient,
) -> None:
    def posted_from(url: str) -> dict[str, str]:
        return {**HTMX, "HX-Target": "list-page-first", "HX-Current-URL": url}

    data = {"title": "Fresh", "content": "Just made"}
    unfiltered = await client.post("/tickets", data=data, headers=posted_from("http://t/tickets"))
    matching = await client.post(
        "/tickets", data=data, headers=posted_from("http://t/tickets?status=OPEN&q=fre")
    )
    elsewhere = await client.post(
        "/tickets", data=data, headers=posted_from("http://t/tickets?status=DONE")
    )

    assert rows(unfiltered.text) and rows(matching.text)
    assert (elsewhere.status_code, elsewhere.text) == (200, "")


async def test_a_deleted_tickets_row_source_is_empty(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    before = await client.get(f"/fragments/tickets/{ticket.id}/row", headers=HTMX)
    await client.post(f"/tickets/{ticket.id}/delete")

    after = await client.get(f"/fragments/tickets/{ticket.id}/row", headers=HTMX)

    assert rows(before.text) == [ticket.id]
    assert (after.status_code, after.text, after.headers["x-cache"]) == (200, "", "BYPASS")


async def test_the_counts_the_database_keeps_match_a_count_of_every_ticket(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await seed_many(settings.database_url, 300)
    first = await add_ticket(app, title="Counted")
    await client.post("/tickets", data={"title": "Made", "content": "Through the form"})
    await client.post(f"/tickets/{first.id}/update", data={"status": "DONE"})
    await client.post(f"/tickets/{first.id}/update", data={"title": "Renamed only"})
    for ticket_id in rows((await client.get("/tickets")).text)[3:6]:
        await client.post(f"/tickets/{ticket_id}/delete")

    async with app.state.db.session() as session:
        statement = select(Ticket.status, func.count()).group_by(col(Ticket.status))
        counted = {str(status): n for status, n in await session.exec(statement)}
    shown = (await client.get("/fragments/counts", headers=HTMX)).text

    assert sum(counted.values()) == 300 + 2 - 3
    for status, n in counted.items():
        assert f'href="/tickets?status={status}"><span class="count__n">{n}<' in shown


async def test_a_page_of_rows_by_many_people_names_each_and_renders(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Each row names its ticket, its author and its assignee (their names are
    read from their rows): 50 rows by 100 people named more tags than an entry
    held (128), and the list answered 500."""
    async with app.state.db.transaction() as session:
        people = [
            User(name=f"Person {n}", email=f"p{n}@example.com", password_hash="-")
            for n in range(100)
        ]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Ticket(
                title=f"Ticket {n}",
                content="c",
                author_id=people[2 * n].id,
                assignee_id=people[2 * n + 1].id,
            )
            for n in range(50)
        )

    page = await client.get("/tickets")
    again = await client.get("/tickets")

    assert page.status_code == 200 and len(rows(page.text)) == 50
    assert "Person 98" in page.text and again.headers["x-cache"] == "HIT"


async def test_a_window_s_select_is_built_once_and_a_search_leaves_it_as_built(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A window's statement is kept built for its next read; a search adds its
    words to a copy (the kept one never holds anybody's words)."""
    await add_ticket(app, title="Cafe menu")
    queries._window_statement.cache_clear()
    base = ListQuery(status=TicketStatus.OPEN)

    assert (await client.get("/tickets?status=OPEN")).status_code == 200
    assert (await client.get("/tickets?status=OPEN&q=cafe")).status_code == 200
    kept = queries._window_statement(base)

    assert queries._window_statement.cache_info().hits >= 2  # the search's, and this one
    assert "MATCH" not in str(kept) and "search_vector" not in str(kept)
    searched = rows((await client.get("/tickets?status=OPEN&q=cafe")).text)
    assert len(searched) == 1
