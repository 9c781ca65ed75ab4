"""Edits never overwrite each other: a save carries the version its form was
made from, saves only what its person changed, and is refused with 409
(changing nothing) when someone else changed one of those fields since."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from app import ids, paths
from app.models import Ticket, TicketChange, TicketStatus, User
from app.tickets.versions import UNKNOWN_VERSION
from tests.helpers import HTMX, app_client, sign_in

VERSION = re.compile(r'<input type="hidden" name="version" value="(\d+)">')


async def person(app: Starlette, name: str) -> User:
    async with app.state.db.session() as session:
        return (await session.exec(select(User).where(User.name == name))).one()


async def ticket_for_both(app: Starlette, client: httpx.AsyncClient, bob_id: str) -> str:
    """A ticket Ada wrote and assigned to Bob: both may edit it (version 2)."""
    made = await client.post("/tickets", data={"title": "Printer", "content": "On fire."})
    assert made.status_code == 303
    async with app.state.db.session() as session:
        ticket_id = (await session.exec(select(Ticket.id))).one()
    assigned = await client.post(paths.ticket_update_path(ticket_id), data={"assignee": bob_id})
    assert assigned.status_code == 303
    return ticket_id


async def ticket_now(app: Starlette, ticket_id: str) -> Ticket:
    async with app.state.db.session() as session:
        found = await session.get(Ticket, ticket_id)
    assert found is not None
    return found


async def form_version(client: httpx.AsyncClient, ticket_id: str) -> str:
    """The version the ticket page's edit form holds: what tab A has open."""
    page = await client.get(paths.ticket_path(ticket_id))
    found = VERSION.search(page.text)
    assert found is not None, "no version in the edit form"
    return found.group(1)


def edit_form(title: str, content: str, status: str, version: str) -> dict[str, str]:
    return {"title": title, "content": content, "status": status, "version": version}


@pytest.fixture
async def ticket_id(app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient) -> str:
    return await ticket_for_both(app, client, (await person(app, "Bob")).id)


async def test_the_edit_form_holds_the_tickets_version(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    assert await form_version(client, ticket_id) == "2"
    assert (await ticket_now(app, ticket_id)).version == 2


async def test_tab_a_saving_an_old_form_keeps_tab_bs_status(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    """The issue's scenario: tab A opens the edit form, tab B sets the status to
    Done, tab A saves its title: both land."""
    version = await form_version(client, ticket_id)  # tab A
    done = await bob.post(paths.ticket_update_path(ticket_id), data={"status": "DONE"})  # tab B
    assert done.status_code == 303

    saved = await client.post(
        paths.ticket_update_path(ticket_id),
        data=edit_form("Printer 2", "On fire.", "OPEN", version),
    )

    assert saved.status_code == 303
    ticket = await ticket_now(app, ticket_id)
    assert (ticket.title, ticket.status, ticket.version) == ("Printer 2", TicketStatus.DONE, 4)


async def test_a_status_change_and_a_title_edit_from_one_version_both_land(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    version = await form_version(client, ticket_id)
    assert version == await form_version(bob, ticket_id)

    by_bob = await bob.post(
        paths.ticket_update_path(ticket_id), data=edit_form("Printer", "On fire.", "DONE", version)
    )
    by_ada = await client.post(
        paths.ticket_update_path(ticket_id), data=edit_form("Jammed", "On fire.", "OPEN", version)
    )

    assert (by_bob.status_code, by_ada.status_code) == (303, 303)
    ticket = await ticket_now(app, ticket_id)
    assert (ticket.title, ticket.status) == ("Jammed", TicketStatus.DONE)


async def test_the_same_change_made_twice_is_no_conflict(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    version = await form_version(client, ticket_id)
    same = edit_form("Fixed", "On fire.", "OPEN", version)
    assert (await bob.post(paths.ticket_update_path(ticket_id), data=same)).status_code == 303
    assert (await client.post(paths.ticket_update_path(ticket_id), data=same)).status_code == 303
    assert (await ticket_now(app, ticket_id)).version == 3  # the second saved nothing


async def clash(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str, **posted: str
) -> httpx.Response:
    """Bob retitles the ticket while Ada edits it (and its description) from
    the version before: her save is answered."""
    version = await form_version(client, ticket_id)
    bobs = edit_form("Bob's title", "On fire.", "OPEN", version)
    assert (await bob.post(paths.ticket_update_path(ticket_id), data=bobs)).status_code == 303
    assert (await client.get(paths.ticket_path(ticket_id))).headers["x-cache"] == "MISS"
    adas = edit_form("Ada's title", "Smoke, then fire.", "OPEN", version)
    return await client.post(paths.ticket_update_path(ticket_id), data=adas, **posted)


async def test_a_clash_is_a_409_that_changes_and_invalidates_nothing(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    answer = await clash(app, client, bob, ticket_id)

    assert answer.status_code == 409
    assert "Someone else changed this ticket" in answer.text
    shown = html.unescape(answer.text)
    assert "Ada's title" in shown and "Bob's title" in shown
    assert f'id="{ids.CONFLICT}"' in answer.text and "<html" in answer.text  # the page
    ticket = await ticket_now(app, ticket_id)
    assert (ticket.title, ticket.content, ticket.version) == ("Bob's title", "On fire.", 3)
    assert (await client.get(paths.ticket_path(ticket_id))).headers["x-cache"] == "HIT"


async def test_with_htmx_the_panel_takes_the_edit_forms_place(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    answer = await clash(app, client, bob, ticket_id, headers=HTMX)

    assert answer.status_code == 409
    assert "<html" not in answer.text and f'id="{ids.CONFLICT}"' in answer.text
    assert answer.headers["HX-Retarget"] == f"#{ids.FORM}, #{ids.CONFLICT}"
    assert "notice" in answer.headers["HX-Trigger-After-Settle"]


def forms_of(panel: str) -> dict[str, dict[str, str]]:
    """Each form of the conflict panel, by its class, with the fields it posts."""
    found = {}
    for name, body in re.findall(r"<form class=\"(conflict__\w+)\"(.*?)</form>", panel, re.S):
        fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', body)
        found[name] = {key: html.unescape(value) for key, value in fields}
    return found


async def test_keep_mine_saves_what_the_person_wrote(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    forms = forms_of((await clash(app, client, bob, ticket_id)).text)
    keep = forms["conflict__keep"]
    assert keep == {"version": "3", "title": "Ada's title", "content": "Smoke, then fire."}

    assert (await client.post(paths.ticket_update_path(ticket_id), data=keep)).status_code == 303

    ticket = await ticket_now(app, ticket_id)
    assert (ticket.title, ticket.content) == ("Ada's title", "Smoke, then fire.")


async def test_take_the_current_one_keeps_theirs_and_saves_the_rest(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    forms = forms_of((await clash(app, client, bob, ticket_id)).text)
    take = forms["conflict__take"]
    assert take == {"version": "3", "content": "Smoke, then fire."}

    assert (await client.post(paths.ticket_update_path(ticket_id), data=take)).status_code == 303

    ticket = await ticket_now(app, ticket_id)
    assert (ticket.title, ticket.content) == ("Bob's title", "Smoke, then fire.")


async def test_take_the_current_one_is_a_link_when_nothing_else_changed(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    version = await form_version(client, ticket_id)
    await bob.post(
        paths.ticket_update_path(ticket_id), data=edit_form("B", "On fire.", "OPEN", version)
    )
    answer = await client.post(
        paths.ticket_update_path(ticket_id), data=edit_form("A", "On fire.", "OPEN", version)
    )

    assert answer.status_code == 409
    assert "conflict__take" in answer.text and '<form class="conflict__take"' not in answer.text
    assert f'href="{paths.ticket_path(ticket_id)}">Take the current one' in answer.text


async def test_a_clash_on_the_status_shows_its_labels(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    version = await form_version(client, ticket_id)
    done = edit_form("Printer", "On fire.", "DONE", version)
    assert (await bob.post(paths.ticket_update_path(ticket_id), data=done)).status_code == 303
    answer = await client.post(
        paths.ticket_update_path(ticket_id),
        data=edit_form("Printer", "On fire.", "IN_PROGRESS", version),
    )
    assert answer.status_code == 409
    assert "In progress" in answer.text and "Done" in answer.text


@pytest.mark.parametrize(
    "version",
    [
        pytest.param("x", id="not a number"),
        pytest.param("0", id="zero"),
        pytest.param("-1", id="negative"),
        pytest.param("3", id="later than now"),
        pytest.param("9" * 40, id="huge"),
        pytest.param("", id="empty"),
    ],
)
async def test_an_unknown_version_is_a_422_that_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str, version: str
) -> None:
    answer = await client.post(
        paths.ticket_update_path(ticket_id), data=edit_form("New", "On fire.", "OPEN", version)
    )

    assert answer.status_code == 422
    assert html.escape(UNKNOWN_VERSION, quote=True) in answer.text
    assert (await ticket_now(app, ticket_id)).title == "Printer"


async def test_a_form_shown_again_keeps_the_version_it_was_made_from(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    version = await form_version(client, ticket_id)
    await bob.post(paths.ticket_update_path(ticket_id), data={"status": "DONE"})
    answer = await client.post(
        paths.ticket_update_path(ticket_id), data=edit_form("", "On fire.", "OPEN", version)
    )
    assert answer.status_code == 422
    assert VERSION.findall(answer.text) == [version]


async def test_without_a_version_an_update_sets_what_it_posts(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    await bob.post(paths.ticket_update_path(ticket_id), data={"title": "Bob's"})
    answer = await client.post(paths.ticket_update_path(ticket_id), data={"title": "Ada's"})
    assert answer.status_code == 303
    assert (await ticket_now(app, ticket_id)).title == "Ada's"


async def test_a_person_who_may_not_edit_gets_a_403_before_any_version_check(
    app: Starlette, client: httpx.AsyncClient, ticket_id: str
) -> None:
    async with app_client(app) as carol:
        await sign_in(app, carol, "Carol")
        answer = await carol.post(
            paths.ticket_update_path(ticket_id),
            data=edit_form("Mine", "x", "OPEN", "x"),
            headers=HTMX,
        )
    assert answer.status_code == 403
    assert "author, its assignee or an admin" in answer.text
    async with app.state.db.session() as session:
        kinds = (await session.exec(select(TicketChange.kind))).all()
    assert sorted(kinds) == ["assignee", "created"]
