"""Assignees: who is on a ticket, shown on its row and page, and the lists filtered by them.

Runs on memory + SQLite and on Redis + PostgreSQL (scripts/test runs both).
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette

from app.models import Ticket, TicketStatus, User
from app.tickets.filters import ASKS_FOR_ME, UNKNOWN_ASSIGNEE, ListQuery
from tests.helpers import HTMX, Heard, add_ticket, app_client, sign_in

ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row')
NOBODY_KNOWN = "0b6f0f4e-1111-4222-8333-444455556666"


def rows(html: str) -> list[str]:
    return ROW.findall(html)


async def person_named(app: Starlette, name: str) -> httpx.AsyncClient:
    """A second person (not the admin), signed in on a client of their own."""
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 123)),
        base_url="http://localhost",
    )
    await sign_in(app, client, name)
    return client


async def id_of(app: Starlette, name: str) -> str:
    async with app.state.db.session() as session:
        return (await session.exec(select(User.id).where(col(User.name) == name))).one()


async def test_assign_to_me_shows_the_name_on_the_row_and_the_page_and_unassign_clears_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    page = await client.get(f"/tickets/{ticket.id}")
    assert "Assignee: <strong>Unassigned</strong>" in page.text
    assert "Unassigned</span>" in (await client.get("/tickets")).text

    assigned = await client.post(
        f"/tickets/{ticket.id}/update", data={"assignee": "me"}, headers=HTMX
    )

    assert assigned.status_code == 200 and "Changes saved." in assigned.headers["hx-trigger"]
    assert "Assignee: <strong>Ada</strong>" in (await client.get(f"/tickets/{ticket.id}")).text
    row = await client.get(f"/fragments/tickets/{ticket.id}/row", headers=HTMX)
    assert "assigned to Ada" in row.text
    await client.post(f"/tickets/{ticket.id}/update", data={"assignee": ""})
    assert (
        "Assignee: <strong>Unassigned</strong>" in (await client.get(f"/tickets/{ticket.id}")).text
    )


async def test_lists_filtered_by_assignee_combine_with_status_and_search_and_stay_fresh(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    bob = await person_named(app, "Bob")
    bob_id = await id_of(app, "Bob")
    ada_id = await id_of(app, "Ada")
    printer = await add_ticket(app, title="Printer jammed")
    scanner = await add_ticket(app, title="Scanner jammed", status=TicketStatus.DONE)
    nobodys = await add_ticket(app, title="Printer out of toner")
    for ticket in (printer, scanner):
        await client.post(f"/tickets/{ticket.id}/update", data={"assignee": bob_id})

    bobs = await client.get("/tickets", params={"assignee": bob_id})
    again = await client.get("/tickets", params={"assignee": bob_id})
    none = await client.get("/tickets", params={"assignee": "none"})
    open_bobs = await client.get("/tickets", params={"assignee": bob_id, "status": "OPEN"})
    searched = await client.get("/tickets", params={"assignee": "none", "q": "printer"})

    assert sorted(rows(bobs.text)) == sorted([printer.id, scanner.id])
    assert again.headers["x-cache"] == "HIT" and "All tickets assigned to Bob" in bobs.text
    assert rows(none.text) == [nobodys.id]
    assert rows(open_bobs.text) == [printer.id]
    assert rows(searched.text) == [nobodys.id]
    # Bob hands the printer to Ada: both of their lists, and nobody's, move.
    moved = await bob.post(f"/tickets/{printer.id}/update", data={"assignee": ada_id})
    assert moved.status_code == 303
    after = await client.get("/tickets", params={"assignee": bob_id})
    assert after.headers["x-cache"] == "MISS" and rows(after.text) == [scanner.id]
    adas = await client.get("/tickets", params={"assignee": ada_id})
    assert rows(adas.text) == [printer.id]
    await bob.aclose()


async def test_me_is_the_persons_own_list_kept_by_nobody_and_a_visitor_is_sent_to_sign_in(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ada_id = await id_of(app, "Ada")
    bob = await person_named(app, "Bob")
    bob_id = await id_of(app, "Bob")
    for_ada, for_bob = await add_ticket(app), await add_ticket(app)
    await client.post(f"/tickets/{for_ada.id}/update", data={"assignee": ada_id})
    await client.post(f"/tickets/{for_bob.id}/update", data={"assignee": bob_id})

    mine = await client.get("/tickets", params={"assignee": "me", "status": "OPEN", "x": "y"})
    by_id = await client.get("/tickets", params={"assignee": ada_id, "status": "OPEN"})
    bobs = await bob.get("/tickets", params={"assignee": "me"})
    htmx = await client.get("/tickets", params={"assignee": "me"}, headers=HTMX)
    theirs = await visitor.get("/tickets", params={"assignee": "me"})

    assert mine.status_code == 200 and mine.headers["cache-control"] == "private, no-store"
    assert rows(mine.text) == rows(by_id.text) == [for_ada.id]
    assert by_id.headers["x-cache"] == "HIT"  # one entry, the id's: "me" is no key
    assert rows(bobs.text) == [for_bob.id]
    assert bobs.headers["cache-control"] == "private, no-store"
    assert htmx.status_code == 200 and rows(htmx.text) == [for_ada.id]
    assert theirs.status_code == 303
    assert theirs.headers["location"] == "/login?next=%2Ftickets%3Fassignee%3Dme"
    assert theirs.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"assignee": "bogus"}, UNKNOWN_ASSIGNEE, id="not-an-id"),
        pytest.param({"assignee": NOBODY_KNOWN}, UNKNOWN_ASSIGNEE, id="nobody-has-this-id"),
        pytest.param({"assignee": "NONE"}, UNKNOWN_ASSIGNEE, id="case-matters"),
        pytest.param({"assignee": "x" * 5000}, UNKNOWN_ASSIGNEE, id="5000-characters"),
        pytest.param({"assignee": "a\x00b"}, UNKNOWN_ASSIGNEE, id="nul"),
    ],
)
async def test_an_unknown_assignee_is_a_400_with_a_message_and_nothing_is_stored(
    app: Starlette, client: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    await add_ticket(app)
    for url in ("/tickets", "/fragments/tickets"):
        first = await client.get(url, params=params)
        second = await client.get(url, params=params)
        assert first.status_code == second.status_code == 400, first.text[:200]
        assert first.text == message and "x-cache" not in second.headers


async def test_me_is_no_key_of_a_fragment_source(client: httpx.AsyncClient) -> None:
    answer = await client.get("/fragments/tickets", params={"assignee": "me"}, headers=HTMX)

    assert answer.status_code == 400 and answer.text == ASKS_FOR_ME


async def test_the_picker_lists_everyone_and_a_sign_up_moves_it_but_no_ticket_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    page = await client.get(f"/tickets/{ticket.id}")
    picker = await client.get(f"/fragments/tickets/{ticket.id}/assignee", headers=HTMX)
    assert f'hx-get="/fragments/tickets/{ticket.id}/assignee"' in page.text
    assert '<option value="" selected>Nobody</option>' in picker.text
    assert ">Ada</option>" in picker.text

    async with app_client(app) as newcomer:
        await sign_in(app, newcomer, "Zoe")

    page_again = await client.get(f"/tickets/{ticket.id}")
    picker_again = await client.get(f"/fragments/tickets/{ticket.id}/assignee", headers=HTMX)
    assert page_again.headers["x-cache"] == "HIT"
    assert picker_again.headers["x-cache"] == "MISS" and ">Zoe</option>" in picker_again.text
    zoe_id = await id_of(app, "Zoe")
    await client.post(f"/tickets/{ticket.id}/update", data={"assignee": zoe_id})
    chosen = await client.get(f"/fragments/tickets/{ticket.id}/assignee", headers=HTMX)
    assert f'<option value="{zoe_id}" selected>Zoe</option>' in chosen.text
    gone = await client.get(f"/fragments/tickets/{NOBODY_KNOWN}/assignee", headers=HTMX)
    assert gone.status_code == 404


async def test_the_bulk_bars_options_list_everyone_and_a_sign_up_moves_them_but_no_list(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_ticket(app)
    page = await client.get("/tickets")
    options = await client.get("/fragments/people/assignee-options", headers=HTMX)
    assert 'hx-get="/fragments/people/assignee-options"' in page.text
    assert options.text.startswith(
        '<option value="me">Me</option>\n<option value="">Nobody</option>'
    )
    assert f'<option value="{await id_of(app, "Ada")}">Ada</option>' in options.text

    async with app_client(app) as newcomer:
        await sign_in(app, newcomer, "Zoe")

    page_again = await client.get("/tickets")
    options_again = await client.get("/fragments/people/assignee-options", headers=HTMX)
    assert page_again.headers["x-cache"] == "HIT"
    assert options_again.headers["x-cache"] == "MISS"
    assert f'<option value="{await id_of(app, "Zoe")}">Zoe</option>' in options_again.text


async def test_assigning_moves_only_the_lists_and_pages_it_changes(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket, other = await add_ticket(app), await add_ticket(app, title="Other")
    heard = Heard(app)
    ada_id = await id_of(app, "Ada")
    await client.get(f"/tickets/{other.id}")

    await client.post(f"/tickets/{ticket.id}/update", data={"assignee": "me"})

    moved = set().union(*heard.tags)
    assert {f"ticket?assignee_id={ada_id}", "ticket?assignee_id=None"} <= moved  # new and old
    assert f"ticket:{other.id}" not in moved
    assert (await client.get(f"/tickets/{other.id}")).headers["x-cache"] == "HIT"


def test_a_new_ticket_is_put_on_top_only_of_a_list_it_belongs_at_the_top_of() -> None:
    fresh = Ticket(title="t", content="c")

    assert ListQuery.parse({"assignee": "none"}).matches(fresh)
    assert not ListQuery.parse({"assignee": NOBODY_KNOWN}).matches(fresh)
    assert ListQuery.parse({"sort": "updated"}).matches(fresh)
    assert not ListQuery.parse({"sort": "comments"}).matches(fresh)


async def test_a_page_of_rows_by_many_different_people_is_served_and_stays_fresh(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """50 rows, each with an author and an assignee of its own: the list reads
    their names as one dependency, not 100 rows' worth (past the cache's 128
    tags an entry, that was a 500)."""
    async with app.state.db.transaction() as session:
        for n in range(50):
            author = User(name=f"Author {n}", email=f"author{n}@example.com", password_hash="x")
            assignee = User(name=f"Helper {n}", email=f"helper{n}@example.com", password_hash="x")
            session.add_all([author, assignee])
            session.add(
                Ticket(
                    title=f"Ticket {n}", content="c", author_id=author.id, assignee_id=assignee.id
                )
            )
            if n == 7:
                seventh = assignee.id
    listed = await client.get("/tickets")
    assert listed.status_code == 200 and len(rows(listed.text)) == 50
    async with app.state.db.transaction() as session:
        helper = await session.get(User, seventh)
        assert helper is not None
        helper.name = "Helper Seven"
        session.add(helper)

    again = await client.get("/tickets")

    assert again.headers["x-cache"] == "MISS" and "assigned to Helper Seven" in again.text


@pytest.mark.parametrize(
    "posted",
    ["nobody-at-all", "0" * 36, "a\x00b", "x" * 5000, "00000000-0000-4000-8000-000000000000"],
)
async def test_an_assignee_who_is_nobody_is_refused_with_422_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, posted: str
) -> None:
    """Not an id the app makes, or nobody's: refused before (or by) the one
    read that checks it (PostgreSQL refused a NUL with an error: a 500)."""
    ticket = await add_ticket(app)
    heard = Heard(app)

    answer = await client.post(f"/tickets/{ticket.id}/update", data={"assignee": posted})

    assert answer.status_code == 422 and "No member has this id" in answer.text
    assert heard.tags == []
    async with app.state.db.session() as session:
        assert (await session.get(Ticket, ticket.id)).assignee_id is None  # type: ignore[union-attr]
