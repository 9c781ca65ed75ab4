"""Bulk actions on the list's selection: one status, one assignee or a delete for
many tickets in one transaction, one invalidation, one undo; a refusal for any
row refuses them all, names them, and changes nothing."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette

from app import ids, paths
from app.deps import names
from app.deps.schema import table_of
from app.models import DeletedTicket, Ticket, TicketChange, TicketStatus, User
from app.tickets import history
from app.tickets.selection import MAX_TICKETS
from tests.helpers import HTMX, add_ticket, count_row_renders

INLINE = {**HTMX, "HX-Target": ids.BULK}
BULK = paths.tickets_bulk_path()


async def made_by(client: httpx.AsyncClient, *titles: str) -> list[Ticket]:
    """Tickets created through the app by whoever ``client`` is (numbered, authored)."""
    for title in titles:
        made = await client.post("/tickets", data={"title": title, "content": "x"})
        assert made.status_code == 303, made.text
    return [await by_title(client, title) for title in titles]


async def by_title(client: httpx.AsyncClient, title: str) -> Ticket:
    app: Starlette = client._transport.app  # type: ignore[attr-defined]
    async with app.state.db.session() as session:
        return (await session.exec(select(Ticket).where(Ticket.title == title))).one()


async def tickets_now(app: Starlette) -> dict[str, Ticket]:
    async with app.state.db.session() as session:
        return {ticket.id: ticket for ticket in await session.exec(select(Ticket))}


async def changes(app: Starlette) -> list[tuple[str, str, str | None]]:
    async with app.state.db.session() as session:
        rows = await session.exec(select(TicketChange).order_by(col(TicketChange.id)))
        return [(change.ticket_id, change.kind, change.new) for change in rows]


def form(tickets: list[Ticket], action: str, **fields: str) -> dict[str, object]:
    return {"ids": [ticket.id for ticket in tickets], "action": action, **fields}


def notice(answer: httpx.Response) -> dict[str, str]:
    header = answer.headers.get("HX-Trigger-After-Settle") or answer.headers["HX-Trigger"]
    found: dict[str, str] = json.loads(header)["notice"]
    return found


def rows_in(body: str) -> list[str]:
    return re.findall(r'<li id="ticket-([0-9a-f-]{36})"', body)


# -- each action ---------------------------------------------------------------------


async def test_a_status_for_all_selected_saves_each_records_each_and_answers_their_rows(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    first, second, other = await made_by(client, "First", "Second", "Not selected")
    before = await changes(app)

    answer = await client.post(
        BULK, data=form([first, second], "status", status="DONE"), headers=INLINE
    )

    assert answer.status_code == 200, answer.text
    assert rows_in(answer.text) == [first.id, second.id]
    assert 'class="ticket-row status-done"' in answer.text
    assert answer.headers["HX-Trigger"] == "tickets-changed"
    assert notice(answer) == {"message": "2 tickets now Done."}
    now = await tickets_now(app)
    assert [now[t.id].status for t in (first, second, other)] == [
        TicketStatus.DONE,
        TicketStatus.DONE,
        TicketStatus.OPEN,
    ]
    assert [now[t.id].version for t in (first, second)] == [2, 2]
    added = (await changes(app))[len(before) :]
    assert sorted(added) == sorted([(first.id, "status", "DONE"), (second.id, "status", "DONE")])


@pytest.mark.parametrize(
    ("posted", "whom", "said"),
    [
        pytest.param("me", "Ada", "assigned to you.", id="me"),
        pytest.param("bob", "Bob", "assigned to Bob.", id="a person"),
        pytest.param("", None, "assigned to nobody.", id="nobody"),
    ],
)
async def test_assign_all_selected_to_me_a_person_or_nobody(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    posted: str,
    whom: str | None,
    said: str,
) -> None:
    tickets = await made_by(client, "One", "Two", "Three")
    async with app.state.db.session() as session:
        people = {user.name: user.id for user in await session.exec(select(User))}
    if posted == "":  # assigned first, so that nobody is a change
        await client.post(BULK, data=form(tickets, "assign", assignee="me"))
    assignee = people["Bob"] if posted == "bob" else posted

    answer = await client.post(
        BULK, data=form(tickets, "assign", assignee=assignee), headers=INLINE
    )

    assert answer.status_code == 200, answer.text
    assert notice(answer)["message"] == f"3 tickets {said}"
    now = await tickets_now(app)
    assert {now[t.id].assignee_id for t in tickets} == {people[whom] if whom else None}
    kinds = [(kind, new) for ticket_id, kind, new in await changes(app) if kind == "assignee"]
    assert kinds[-3:] == [("assignee", people[whom] if whom else "")] * 3


async def test_a_bulk_delete_and_its_undo_bring_every_ticket_back_as_it_was(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    tickets = await made_by(client, "Gone one", "Gone two", "Gone three")
    await client.post(BULK, data=form(tickets[:1], "status", status="IN_PROGRESS"))
    before = await tickets_now(app)

    deleted = await client.post(BULK, data=form(tickets, "delete"), headers=INLINE)

    assert deleted.status_code == 200 and deleted.text == ""
    said = notice(deleted)
    assert said["message"] == "3 tickets deleted." and said["subject"] == ids.BULK
    assert set(parse_qs(urlsplit(said["undo"]).query)["ids"]) == {t.id for t in tickets}
    assert not set(await tickets_now(app)) & {t.id for t in tickets}

    restored = await client.post(said["undo"], headers={**HTMX, "HX-Target": said["subject"]})

    assert restored.status_code == 200, restored.text
    assert notice(restored) == {"message": "3 tickets restored."}
    assert rows_in(restored.text) == [t.id for t in tickets]
    now = await tickets_now(app)
    for ticket in tickets:  # same number, status, dates and version as before
        assert now[ticket.id].model_dump() == before[ticket.id].model_dump()
    kinds = [(ticket_id, kind) for ticket_id, kind, _ in await changes(app)]
    for ticket in tickets:
        assert kinds[-6:].count((ticket.id, history.DELETED)) == 1
        assert kinds[-6:].count((ticket.id, history.RESTORED)) == 1
    again = await client.post(said["undo"], headers={**HTMX, "HX-Target": ids.BULK})
    assert again.status_code == 404 and "can no longer be restored" in again.text


async def test_without_javascript_a_bulk_delete_asks_first_then_goes_back_to_the_list(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    tickets = await made_by(client, "Asked one", "Asked two")
    back = paths.tickets_path("status=OPEN")

    asked = await client.post(BULK, data={**form(tickets, "delete"), "next": back})

    assert asked.status_code == 200
    assert "Delete 2 tickets?" in asked.text and "Asked one" in asked.text
    assert len(await tickets_now(app)) == 2  # nothing deleted yet
    confirmed = await client.post(
        BULK, data={**form(tickets, "delete"), "next": back, "confirmed": "yes"}
    )
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, back)
    assert await tickets_now(app) == {}


async def test_a_plain_post_changes_them_and_goes_back_where_it_came_from(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    tickets = await made_by(client, "Plain one", "Plain two")

    answer = await client.post(
        BULK, data={**form(tickets, "status", status="DONE"), "next": "https://evil.example/"}
    )

    assert (answer.status_code, answer.headers["location"]) == (303, paths.tickets_path())
    assert {t.status for t in (await tickets_now(app)).values()} == {TicketStatus.DONE}


# -- all or nothing ------------------------------------------------------------------


async def test_a_row_the_person_may_not_change_refuses_them_all_and_names_it(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    (adas,) = await made_by(client, "Ada's own printer")
    (bobs,) = await made_by(bob, "Bob's own")
    heard: list[frozenset[str]] = []
    app.state.cache.on_invalidate(heard.append)
    before, history_before = await tickets_now(app), await changes(app)

    for action, fields in [("status", {"status": "DONE"}), ("assign", {"assignee": "me"})]:
        refused = await bob.post(BULK, data=form([bobs, adas], action, **fields), headers=INLINE)
        assert refused.status_code == 403
        assert f"#{adas.number} “Ada's own printer”" in refused.text
        assert "Bob's own" not in refused.text
        assert "Nothing was changed." in refused.text
    deleting = await bob.post(BULK, data=form([bobs, adas], "delete"), headers=INLINE)
    assert deleting.status_code == 403 and f"#{adas.number}" in deleting.text

    assert await tickets_now(app) == before
    assert await changes(app) == history_before
    assert heard == []


async def test_a_missing_ticket_refuses_them_all_and_names_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    (there,) = await made_by(client, "Still there")
    (gone,) = await made_by(client, "Deleted meanwhile")
    await client.post(paths.ticket_delete_path(gone.id))

    refused = await client.post(BULK, data=form([there, gone], "status", status="DONE"))

    assert refused.status_code == 404
    assert gone.id in refused.text and there.id not in refused.text
    assert (await tickets_now(app))[there.id].status is TicketStatus.OPEN


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        pytest.param({"action": "status", "status": "LOST"}, 422, "status must be", id="status"),
        pytest.param({"action": "assign", "assignee": "nobody-known"}, 422, "No member", id="who"),
        pytest.param({"action": "assign"}, 422, "whom to assign", id="no assignee"),
        pytest.param({"action": "assign", "assignee": "a\x00b"}, 422, "whom", id="control"),
        pytest.param({"action": "archive"}, 422, "status, assign or delete", id="action"),
        pytest.param({}, 422, "status, assign or delete", id="no action"),
        pytest.param({"action": "delete", "ids": []}, 422, "at least one", id="none selected"),
        pytest.param({"action": "delete", "ids": ["1'; DROP"]}, 404, "no such ticket", id="odd id"),
        pytest.param(
            {"action": "delete", "ids": ["x" * 5000]}, 404, "no such ticket", id="long id"
        ),
    ],
)
async def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    fields: dict[str, object],
    status: int,
    message: str,
) -> None:
    tickets = await made_by(client, "Untouched")
    heard: list[frozenset[str]] = []
    app.state.cache.on_invalidate(heard.append)
    before, history_before = await tickets_now(app), await changes(app)

    answer = await client.post(BULK, data={"ids": [tickets[0].id], **fields}, headers=INLINE)

    assert answer.status_code == status, answer.text
    assert message in answer.text
    if status != 404:  # a 404 is a page, whose first paragraph is the message
        assert len(answer.text) < 300  # what the page's alert quotes whole (static/ui.js)
    assert await tickets_now(app) == before and await changes(app) == history_before
    assert heard == []


async def test_at_most_a_hundred_tickets_at_once(app: Starlette, client: httpx.AsyncClient) -> None:
    (ticket,) = await made_by(client, "One of many")
    fake = [f"00000000-0000-4000-8000-{n:012d}" for n in range(MAX_TICKETS)]

    too_many = await client.post(BULK, data={"ids": [ticket.id, *fake], "action": "delete"})
    just_so = await client.post(BULK, data={"ids": [ticket.id] * 150, "action": "delete"})

    assert too_many.status_code == 413
    assert f"At most {MAX_TICKETS} tickets at once: {MAX_TICKETS + 1}" in too_many.text
    assert just_so.status_code == 413  # counted as posted, before anything else
    assert len(await tickets_now(app)) == 1


async def test_the_same_ticket_twice_is_changed_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    (ticket,) = await made_by(client, "Twice")

    answer = await client.post(BULK, data=form([ticket, ticket], "status", status="DONE"))

    assert answer.status_code == 303
    assert (await tickets_now(app))[ticket.id].version == 2


async def test_a_visitor_is_sent_to_sign_in(app: Starlette, visitor: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app)

    answer = await visitor.post(BULK, data=form([ticket], "delete", confirmed="yes"))

    assert answer.status_code in (303, 403)
    assert len(await tickets_now(app)) == 1


async def test_an_undo_refuses_them_all_when_one_cannot_be_restored(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    first, second = await made_by(client, "Back one", "Back two")
    deleted = await client.post(BULK, data=form([first, second], "delete"), headers=INLINE)
    undo = notice(deleted)["undo"]
    await client.post(paths.ticket_restore_path(second.id))  # restored alone meanwhile

    partly = await client.post(undo, headers={**HTMX, "HX-Target": ids.BULK})
    by_bob = await bob.post(paths.tickets_restore_path([first.id]))
    nothing = await client.post(paths.tickets_restore_path())

    assert partly.status_code == 404 and "none was restored" in partly.text
    assert by_bob.status_code == 403 and f"#{first.number}" in by_bob.text
    assert nothing.status_code == 422
    async with app.state.db.session() as session:
        assert await session.get(DeletedTicket, first.id) is not None  # still undoable
    assert set(await tickets_now(app)) == {second.id}
    plain = await client.post(undo.replace(f"ids={second.id}", ""))
    assert (plain.status_code, plain.headers["location"]) == (303, paths.tickets_path())


# -- one transaction, one invalidation ------------------------------------------------


async def test_one_bump_moves_every_changed_row_and_the_list_renders_only_them(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [await add_ticket(app, title=f"Ticket {n}") for n in range(30)]
    chosen = [tickets[3], tickets[12], tickets[20]]
    await client.get("/tickets")
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"
    heard: list[frozenset[str]] = []
    app.state.cache.on_invalidate(heard.append)
    rendered = count_row_renders(monkeypatch)

    await client.post(BULK, data=form(chosen, "status", status="DONE"))
    after = await client.get("/tickets")

    assert len(heard) == 1  # one commit, applied as one bump
    rows = {names.row(table_of(Ticket), [ticket.id]) for ticket in chosen}
    assert rows <= heard[0]
    assert names.row(table_of(Ticket), [tickets[4].id]) not in heard[0]
    assert after.headers["x-cache"] == "MISS"
    assert sorted(rendered) == sorted(ticket.id for ticket in chosen)
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"


async def test_a_bulk_delete_is_one_bump_too(app: Starlette, client: httpx.AsyncClient) -> None:
    tickets = [await add_ticket(app, title=f"Ticket {n}") for n in range(5)]
    heard: list[frozenset[str]] = []
    app.state.cache.on_invalidate(heard.append)

    deleted = await client.post(BULK, data=form(tickets[:4], "delete"), headers=INLINE)
    await client.post(notice(deleted)["undo"], headers={**HTMX, "HX-Target": ids.BULK})

    assert len(heard) == 2  # the delete, then the undo
    for moved in heard:
        assert {names.row(table_of(Ticket), [t.id]) for t in tickets[:4]} <= moved


async def test_the_list_page_holds_a_checkbox_per_row_in_the_bulk_form_the_same_for_all(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Pick me")

    page = await client.get("/tickets")
    seen_by_visitor = await visitor.get("/tickets")

    box = re.search(rf'<input id="pick-{ticket.id}"[^>]*>', page.text)
    assert box is not None
    assert f'form="{ids.BULK}"' in box.group(0) and 'name="ids"' in box.group(0)
    assert "checked" not in box.group(0)
    assert f'<form id="{ids.BULK}"' in page.text
    assert seen_by_visitor.headers["x-cache"] == "HIT"  # one entry for everyone
