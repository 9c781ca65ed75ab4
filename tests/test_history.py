"""A ticket's history on its page: every change with who, when and the value it
replaced, live on its own; and a title or description edit reverted from it
by whoever made it or an admin, as a new change."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from app import edge_contract, ids, paths
from app.models import Ticket, TicketChange, User
from app.tickets import history
from app.tickets.revert import NO_SUCH_CHANGE, NOT_REVERTIBLE, NOT_YOURS
from app.tickets.timeline import SHOWN
from tests.helpers import HTMX

REVERT_BUTTON = re.compile(r"<button[^>]*>Revert</button>")


async def person_id(app: Starlette, name: str) -> str:
    async with app.state.db.session() as session:
        return (await session.exec(select(User.id).where(User.name == name))).one()


async def made(app: Starlette, client: httpx.AsyncClient, title: str = "Printer") -> str:
    answer = await client.post("/tickets", data={"title": title, "content": "On fire."})
    assert answer.status_code == 303
    async with app.state.db.session() as session:
        return (await session.exec(select(Ticket.id).where(Ticket.title == title))).one()


@pytest.fixture
async def ticket_id(app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient) -> str:
    """Ada's ticket, assigned to Bob, who then retitles it."""
    ticket_id = await made(app, client)
    update = paths.ticket_update_path(ticket_id)
    bob_id = await person_id(app, "Bob")
    assert (await client.post(update, data={"assignee": bob_id})).status_code == 303
    assert (await bob.post(update, data={"title": "Printer jammed"})).status_code == 303
    return ticket_id


async def changes(app: Starlette, ticket_id: str) -> list[TicketChange]:
    async with app.state.db.session() as session:
        found = select(TicketChange).where(TicketChange.ticket_id == ticket_id)
        return list(await session.exec(found.order_by(TicketChange.id)))  # type: ignore[arg-type]


async def change_of(app: Starlette, ticket_id: str, kind: str) -> TicketChange:
    return [change for change in await changes(app, ticket_id) if change.kind == kind][-1]


def timeline_of(page: str) -> str:
    found = re.search(rf'<section id="{ids.HISTORY}".*?</section>', page, re.S)
    assert found is not None, "no timeline on the page"
    return found.group(0)


def words_of(markup: str) -> str:
    """What ``markup`` says: tags dropped, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def entries_of(page: str) -> list[str]:
    items = re.findall(
        r"<li id=\"change-[0-9]+\" class=\"timeline__entry.*?</li>", timeline_of(page), re.S
    )
    return [words_of(item) for item in items]


async def test_the_ticket_page_lists_each_change_with_who_when_and_the_old_value(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    update = paths.ticket_update_path(ticket_id)
    assert (await bob.post(update, data={"status": "IN_PROGRESS"})).status_code == 303
    assert (await client.post(update, data={"content": "Smoke " * 40})).status_code == 303
    assert (await client.post(update, data={"assignee": ""})).status_code == 303

    page = (await client.get(paths.ticket_path(ticket_id))).text
    entries = entries_of(page)

    assert [entry.split(" ", 2)[:2] for entry in entries] == [
        ["Ada", "opened"],
        ["Ada", "assigned"],
        ["Bob", "changed"],
        ["Bob", "changed"],
        ["Ada", "edited"],
        ["Ada", "unassigned"],
    ]
    assert entries[1].startswith("Ada assigned Bob ")
    assert entries[2].startswith("Bob changed the title from “Printer” to “Printer jammed” ")
    assert entries[3].startswith("Bob changed the status from Open to In progress ")
    assert "Previous description: On fire." in entries[4]
    assert entries[5].startswith("Ada unassigned Bob ")
    # When: exact in the HTML, each entry's own moment.
    for change, entry in zip(await changes(app, ticket_id), entries, strict=True):
        assert f"{change.at.day} {change.at:%b %Y, %H:%M} UTC" in entry
    assert timeline_of(page).count("<time datetime=") == 6


async def test_a_long_old_description_is_shortened_with_the_whole_in_a_disclosure(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    update = paths.ticket_update_path(ticket_id)
    long = "Smoke from tray two. " * 20
    assert (await client.post(update, data={"content": long.strip()})).status_code == 303
    assert (await client.post(update, data={"content": "Fixed."})).status_code == 303

    timeline = timeline_of((await client.get(paths.ticket_path(ticket_id))).text)

    summary = re.findall(r"<summary>Previous description: (.*?)</summary>", timeline)
    assert summary[0] == "On fire." and summary[1].endswith("…") and len(summary[1]) <= 120
    assert long.strip() in timeline  # the whole, inside the disclosure


async def test_the_timeline_is_live_and_moves_only_with_its_tickets_changes(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    source = paths.timeline_source_path(ticket_id)
    first = await client.get(source, headers=HTMX)
    assert first.status_code == 200 and first.headers["x-cache"] == "MISS"
    assert f'data-live-src="{source}"' in first.text
    assert (await client.get(source, headers=HTMX)).headers["x-cache"] == "HIT"

    other = await made(app, client, "Another")
    await client.post(paths.ticket_update_path(other), data={"title": "Another one"})
    assert (await client.get(source, headers=HTMX)).headers["x-cache"] == "HIT"

    await bob.post(paths.ticket_update_path(ticket_id), data={"status": "DONE"})
    moved = await client.get(source, headers=HTMX)
    assert moved.headers["x-cache"] == "MISS"
    assert "Bob changed the status from Open to Done" in words_of(moved.text)


async def test_a_rename_shows_in_the_timeline(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    source = paths.timeline_source_path(ticket_id)
    assert "Bob changed" in words_of((await client.get(source, headers=HTMX)).text)
    async with app.state.db.transaction() as session:
        bob_row = await session.get(User, await person_id(app, "Bob"))
        assert bob_row is not None
        bob_row.name = "Robert"
        session.add(bob_row)

    renamed = await client.get(source, headers=HTMX)
    assert renamed.headers["x-cache"] == "MISS"
    said = words_of(renamed.text)
    assert "Robert changed" in said and "Bob changed" not in said


async def test_comments_deletes_and_restores_are_in_the_timeline(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    async with app.state.db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        history.record(session, ticket, history.COMMENT_ADDED, None, new="a comment id")
    assert (await client.post(paths.ticket_delete_path(ticket_id))).status_code == 303
    assert (await client.post(paths.ticket_restore_path(ticket_id))).status_code == 303

    entries = entries_of((await client.get(paths.ticket_path(ticket_id))).text)

    assert entries[-3].startswith("Someone commented ")
    assert entries[-2].startswith("Ada deleted the ticket ")
    assert entries[-1].startswith("Ada restored the ticket ")


# -- revert ----------------------------------------------------------------------------


async def revert(who: httpx.AsyncClient, change: TicketChange, **posted: str) -> httpx.Response:
    assert change.id is not None
    return await who.post(paths.change_revert_path(change.ticket_id, change.id), **posted)


async def test_the_maker_of_an_edit_reverts_it_as_a_new_change(
    app: Starlette, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    edit = await change_of(app, ticket_id, "title")

    answer = await revert(bob, edit)

    assert answer.status_code == 303 and answer.headers["location"] == paths.ticket_path(ticket_id)
    async with app.state.db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None and (ticket.title, ticket.version) == ("Printer", 4)
    back = await change_of(app, ticket_id, "title")
    assert (back.old, back.new, back.actor_id, back.version) == (
        "Printer jammed",
        "Printer",
        edit.actor_id,
        4,
    )


async def test_an_admin_reverts_anyones_edit_with_htmx(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    answer = await revert(client, await change_of(app, ticket_id, "title"), headers=HTMX)

    assert answer.status_code == 200
    assert answer.headers["HX-Redirect"] == paths.ticket_path(ticket_id)
    assert "back as it was" in answer.headers["HX-Trigger"]
    assert (await change_of(app, ticket_id, "title")).new == "Printer"


@pytest.mark.parametrize("who", ["bob", "carol"])
async def test_others_may_not_revert_an_edit(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    ticket_id: str,
    who: str,
) -> None:
    """Bob may edit the ticket (its assignee), yet not revert Ada's edit; Carol neither."""
    await client.post(paths.ticket_update_path(ticket_id), data={"content": "By Ada."})
    edit = await change_of(app, ticket_id, "content")
    before = await changes(app, ticket_id)

    answer = await revert(bob if who == "bob" else carol, edit, headers=HTMX)

    assert answer.status_code == 403 and answer.text == NOT_YOURS
    assert await changes(app, ticket_id) == before


async def test_an_edit_changed_again_since_is_refused_with_409(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    edit = await change_of(app, ticket_id, "title")
    await client.post(paths.ticket_update_path(ticket_id), data={"title": "Printer fixed"})
    page = await client.get(paths.ticket_path(ticket_id))

    answer = await revert(bob, edit)

    assert answer.status_code == 409
    assert "The title has changed again since this edit" in answer.text
    assert (await change_of(app, ticket_id, "title")).new == "Printer fixed"
    again = await client.get(paths.ticket_path(ticket_id))
    assert again.headers["x-cache"] == "HIT" and again.text == page.text


async def test_only_title_and_description_edits_are_reverted(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    answer = await revert(client, await change_of(app, ticket_id, "assignee"))
    assert (answer.status_code, answer.text) == (400, NOT_REVERTIBLE)


@pytest.mark.parametrize("change", ["999999999", "other ticket's"])
async def test_an_unknown_change_is_a_404(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str, change: str
) -> None:
    if change == "999999999":
        url = paths.change_revert_path(ticket_id, 999_999_999)
    else:
        other = await change_of(app, await made(app, client, "Other"), "created")
        assert other.id is not None
        url = paths.change_revert_path(ticket_id, other.id)
    answer = await client.post(url, headers=HTMX)
    assert answer.status_code == 404 and NO_SUCH_CHANGE in answer.text


async def test_a_change_id_of_ten_digits_is_no_route(
    client: httpx.AsyncClient, ticket_id: str
) -> None:
    answer = await client.post(f"/tickets/{ticket_id}/changes/{'9' * 10}/revert")
    assert answer.status_code == 404


async def test_a_visitor_is_sent_to_sign_in(
    app: Starlette, visitor: httpx.AsyncClient, ticket_id: str
) -> None:
    edit = await change_of(app, ticket_id, "title")
    assert (await revert(visitor, edit)).status_code == 303
    assert (await revert(visitor, edit, headers=HTMX)).status_code == 403


async def test_revert_is_offered_to_the_maker_and_admins_only(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    visitor: httpx.AsyncClient,
    ticket_id: str,
) -> None:
    """One shared timeline; each person's Revert is a hole filled for them."""
    page = paths.ticket_path(ticket_id)
    assert len(REVERT_BUTTON.findall((await client.get(page)).text)) == 1  # Ada: admin
    assert len(REVERT_BUTTON.findall((await bob.get(page)).text)) == 1  # Bob made it
    assert REVERT_BUTTON.findall((await carol.get(page)).text) == []
    assert REVERT_BUTTON.findall((await visitor.get(page)).text) == []
    edit = await change_of(app, ticket_id, "title")
    assert edit.id is not None
    src = edge_contract.revert_hole_path(ticket_id, edit.id, edit.actor_id)
    names = {"ticket": ticket_id, "change": str(edit.id)}
    assert edge_contract.parse_owned_hole(src) == edge_contract.OwnedHole(
        "revert", edit.actor_id, names
    )


async def test_only_the_latest_edit_of_a_field_offers_revert(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    await client.post(paths.ticket_update_path(ticket_id), data={"title": "Printer fixed"})
    timeline = timeline_of((await client.get(paths.ticket_path(ticket_id))).text)
    assert len(REVERT_BUTTON.findall(timeline)) == 1
    latest = await change_of(app, ticket_id, "title")
    assert latest.id is not None
    assert paths.change_revert_path(ticket_id, latest.id) in timeline


async def test_a_long_history_shows_its_latest_changes_and_says_how_many_there_are(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Each entry names its row and its person's: a page names a bounded number
    of rows (an entry of more tags was a 500)."""
    ticket_id = await made(app, client)
    update = paths.ticket_update_path(ticket_id)
    for n in range(SHOWN + 5):
        assert (await client.post(update, data={"title": f"Printer {n}"})).status_code == 303

    page = await client.get(f"/tickets/{ticket_id}")

    assert page.status_code == 200
    assert len(entries_of(page.text)) == SHOWN
    assert f"Showing the latest {SHOWN} of {SHOWN + 6} changes." in page.text
    assert f"Printer {SHOWN + 4}" in timeline_of(page.text)  # the latest
    assert "opened the ticket" not in timeline_of(page.text)  # the first is past the window
