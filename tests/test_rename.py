"""Names that change: the account page, and a rename that moves exactly what shows the name.

Runs on memory + SQLite and on Redis + PostgreSQL (scripts/test runs both).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert
from sqlmodel import col, select
from starlette.applications import Starlette

from app.accounts.account import BAD_NAME
from app.models import Ticket, User, utcnow
from app.search import search_text
from tests.helpers import HTMX, Heard, add_ticket, app_client, count_row_renders, sign_in

ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row')
NEXT = re.compile(r'<a rel="next" class="button" href="([^"]+)"')


async def name_of(app: Starlette, user_id: str) -> str:
    async with app.state.db.session() as session:
        person = await session.get(User, user_id)
        assert person is not None
        return person.name


async def test_the_account_page_is_for_people_and_shows_their_name(
    client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    mine = await client.get("/account")
    theirs = await visitor.get("/account")
    partial = await client.get("/account", headers=HTMX)

    assert mine.status_code == 200 and 'value="Ada"' in mine.text
    assert mine.headers["cache-control"].startswith("private")  # one person's
    assert "<html" not in partial.text and 'id="account-form"' in partial.text
    assert theirs.status_code == 303 and theirs.headers["location"] == "/login?next=%2Faccount"
    refused = await visitor.post("/account", data={"name": "Eve"}, headers=HTMX)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("x" * 81, id="81-characters"),
        pytest.param("Ada\x00", id="nul"),
        pytest.param("Ada\nLovelace", id="newline"),
        pytest.param("Ada\x7f", id="delete"),
    ],
)
async def test_a_bad_name_is_a_422_with_its_message_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, name: str
) -> None:
    heard = Heard(app)
    for headers in ({}, HTMX):
        answer = await client.post("/account", data={"name": name}, headers=headers)
        assert answer.status_code == 422 and BAD_NAME in answer.text
        assert 'aria-invalid="true"' in answer.text
    assert heard.tags == []
    async with app.state.db.session() as session:
        names = (await session.exec(select(User.name))).all()
    assert names == ["Ada"]


async def test_a_rename_shows_everywhere_on_the_next_read(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await client.post(f"/tickets/{ticket.id}/update", data={"assignee": "me"})
    async with app.state.db.transaction() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        stored.author_id = stored.assignee_id  # Ada opened it too
        session.add(stored)
    for url in ("/", "/tickets", f"/tickets/{ticket.id}", "/account"):
        assert "Signed in as <strong>Ada</strong>" in (await client.get(url)).text

    renamed = await client.post("/account", data={"name": " Ada Lovelace "}, headers=HTMX)

    assert renamed.status_code == 200
    notice = json.loads(renamed.headers["hx-trigger-after-settle"])["notice"]
    assert notice["message"] == "Your name is now “Ada Lovelace”."
    assert 'value="Ada Lovelace"' in renamed.text
    assert 'id="account-bar"' in renamed.text and 'hx-swap-oob="true"' in renamed.text
    listed = await client.get("/tickets")
    page = await client.get(f"/tickets/{ticket.id}")
    row = await client.get(f"/fragments/tickets/{ticket.id}/row", headers=HTMX)
    picker = await client.get(f"/fragments/tickets/{ticket.id}/assignee", headers=HTMX)
    assert "Signed in as <strong>Ada Lovelace</strong>" in listed.text  # at once, not in a second
    assert "by Ada Lovelace" in row.text and "assigned to Ada Lovelace" in row.text
    assert "Opened by Ada Lovelace" in page.text and "<strong>Ada Lovelace</strong>" in page.text
    assert ">Ada Lovelace</option>" in picker.text
    plain = await client.post("/account", data={"name": "Ada"})
    assert plain.status_code == 303 and plain.headers["location"] == "/account"
    assert "Signed in as <strong>Ada</strong>" in (await client.get("/")).text


async def test_one_rename_among_10000_tickets_re_renders_only_that_persons_cached_rows(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app_client(app) as bob_client:
        bob = await sign_in(app, bob_client, "Bob")
        await _seed(app, 10_000, ada_id=await _id_of(app, "Ada"), bob_id=bob.id)
        first = await client.get("/tickets")
        found = NEXT.search(first.text)
        assert found is not None
        second_url = found.group(1).replace("&amp;", "&")
        second = await client.get(second_url)
        cached_rows = ROW.findall(first.text) + ROW.findall(second.text)
        assert len(cached_rows) == 100
        bobs = await _shown_by(app, cached_rows, bob.id)
        assert 0 < len(bobs) < 100
        adas_ticket = next(ticket for ticket in cached_rows if ticket not in bobs)
        await client.get(f"/tickets/{adas_ticket}")
        rendered = count_row_renders(monkeypatch)

        renamed = await bob_client.post("/account", data={"name": "Robert"})
        again = await client.get("/tickets")
        again_second = await client.get(second_url)

    assert renamed.status_code == 303
    assert again.headers["x-cache"] == again_second.headers["x-cache"] == "MISS"
    assert sorted(rendered) == sorted(bobs)  # Bob's rows, and not one other
    assert "Robert" in again.text + again_second.text and "Bob<" not in again.text
    assert (await client.get(f"/tickets/{adas_ticket}")).headers["x-cache"] == "HIT"


async def _id_of(app: Starlette, name: str) -> str:
    async with app.state.db.session() as session:
        return (await session.exec(select(User.id).where(col(User.name) == name))).one()


async def _seed(app: Starlette, count: int, *, ada_id: str, bob_id: str) -> None:
    """``count`` tickets written in one statement, before anything is cached:
    Bob opened every 7th and is assigned every 11th; Ada opened the rest."""
    now = utcnow()
    rows = []
    for n in range(count):
        title = f"Generated ticket {n}"
        rows.append(
            {
                "id": f"00000000-0000-4000-8000-{n:012d}",
                "title": title,
                "content": "Seeded.",
                "search_text": search_text(title, "Seeded."),
                "status": "OPEN",
                "created_at": now - timedelta(seconds=n),  # a moment each: the search
                "updated_at": now - timedelta(seconds=n),  # index's keys stay apart
                "author_id": bob_id if n % 7 == 0 else ada_id,
                "assignee_id": bob_id if n % 11 == 0 else None,
                "version": 1,
                "comment_count": 0,
            }
        )
    async with app.state.db.engine.begin() as connection:
        await connection.execute(insert(Ticket), rows)


async def _shown_by(app: Starlette, tickets: list[str], person_id: str) -> set[str]:
    async with app.state.db.session() as session:
        found = await session.exec(select(Ticket).where(col(Ticket.id).in_(tickets)))
        return {t.id for t in found if person_id in (t.author_id, t.assignee_id)}
