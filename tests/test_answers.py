"""Every action answers: notices, undo of a delete, forms that come back in place,
and no URL that a reload turns into an error."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from app.models import DeletedTicket, Ticket, TicketStatus, utcnow
from app.tickets.undo import UNDO_WINDOW
from harness.metrics import metrics
from tests.helpers import HTMX, add_ticket, ticket_count


def notice_of(response: httpx.Response, header: str) -> dict[str, str]:
    notice: dict[str, str] = json.loads(response.headers[header])["notice"]
    return notice


def invalidations(page: httpx.Response) -> float:
    return sum(v for k, v in metrics(page.text).items() if k.startswith("cache_invalidations"))


# -- notices ----------------------------------------------------------------


async def test_an_inline_delete_says_so_after_the_swap_and_offers_undo(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Café “au lait” machine")
    row = f"ticket-{ticket.id}"

    response = await client.post(f"/tickets/{ticket.id}/delete", headers={**HTMX, "HX-Target": row})

    assert response.headers["hx-trigger"] == "tickets-changed"
    assert response.headers["hx-trigger-after-settle"].isascii()  # headers are Latin-1
    assert notice_of(response, "hx-trigger-after-settle") == {
        "message": "Ticket “Café “au lait” machine” deleted.",
        "undo": f"/tickets/{ticket.id}/restore",
        "subject": row,
    }


async def test_an_action_that_navigates_carries_its_notice_at_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    saved = await client.post(
        f"/tickets/{ticket.id}/update", data={"title": "Renamed"}, headers=HTMX
    )
    created = await client.post("/tickets", data={"title": "New", "content": "x"}, headers=HTMX)

    assert saved.headers["hx-redirect"] == f"/tickets/{ticket.id}"
    assert notice_of(saved, "hx-trigger") == {"message": "Changes saved."}
    assert created.headers["hx-redirect"] == "/tickets"
    assert notice_of(created, "hx-trigger") == {"message": "Ticket “New” created."}


async def test_a_status_change_names_the_ticket_and_its_new_status(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="x" * 100)

    response = await client.post(
        f"/tickets/{ticket.id}/update",
        data={"status": "DONE"},
        headers={**HTMX, "HX-Target": f"ticket-{ticket.id}"},
    )

    message = notice_of(response, "hx-trigger-after-settle")["message"]
    assert message == f"“{'x' * 59}…” is now Done."  # a long title is cut short


async def test_a_plain_form_post_carries_no_notice(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    response = await client.post(f"/tickets/{ticket.id}/delete")

    assert response.status_code == 303
    assert not {"hx-trigger", "hx-trigger-after-settle"} & set(response.headers)


# -- undo -------------------------------------------------------------------


async def test_undo_puts_the_ticket_back_as_it_was_for_everyone(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Lift stuck", status=TicketStatus.IN_PROGRESS)
    await client.post(f"/tickets/{ticket.id}/delete")
    assert (await client.get(f"/tickets/{ticket.id}")).status_code == 404
    listed = await client.get("/tickets")
    assert f'id="ticket-{ticket.id}"' not in listed.text

    response = await client.post(
        f"/tickets/{ticket.id}/restore", headers={**HTMX, "HX-Target": f"ticket-{ticket.id}"}
    )

    assert response.status_code == 200
    assert response.text.startswith(f'<li id="ticket-{ticket.id}"')  # the row to put back
    assert notice_of(response, "hx-trigger-after-settle") == {
        "message": "Ticket “Lift stuck” restored."
    }
    page = await client.get(f"/tickets/{ticket.id}")
    assert page.status_code == 200 and page.headers["x-cache"] == "MISS"
    assert f'id="ticket-{ticket.id}"' in (await client.get("/tickets")).text
    async with app.state.db.session() as session:
        back = await session.get(Ticket, ticket.id)
        assert back is not None
        assert (back.title, back.content, back.status) == (
            ticket.title,
            ticket.content,
            ticket.status,
        )
        assert back.created_at.replace(tzinfo=None) == ticket.created_at.replace(tzinfo=None)
        assert await session.get(DeletedTicket, ticket.id) is None
    found = await client.get("/tickets", params={"q": "lift"})
    assert f'id="ticket-{ticket.id}"' in found.text  # searchable again


async def test_a_plain_undo_post_lands_on_the_ticket(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await client.post(f"/tickets/{ticket.id}/delete")

    response = await client.post(f"/tickets/{ticket.id}/restore")

    assert response.status_code == 303
    assert response.headers["location"] == f"/tickets/{ticket.id}"


@pytest.mark.parametrize("case", ["never-deleted", "restored-already", "expired"])
async def test_an_undo_that_cannot_be_is_404_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, case: str
) -> None:
    ticket = await add_ticket(app)
    if case != "never-deleted":
        await client.post(f"/tickets/{ticket.id}/delete")
    if case == "restored-already":
        assert (await client.post(f"/tickets/{ticket.id}/restore")).status_code == 303
    if case == "expired":
        async with app.state.db.transaction() as session:
            long_ago = utcnow() - UNDO_WINDOW - timedelta(seconds=1)
            await session.exec(update(DeletedTicket).values(deleted_at=long_ago))  # type: ignore[call-overload]
    before = await ticket_count(app), invalidations(await client.get("/metrics"))

    response = await client.post(f"/tickets/{ticket.id}/restore")

    assert response.status_code == 404
    assert "can no longer be restored" in response.text
    assert (await ticket_count(app), invalidations(await client.get("/metrics"))) == before


async def test_of_two_undos_at_once_exactly_one_restores(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await client.post(f"/tickets/{ticket.id}/delete")

    answers = await asyncio.gather(
        *(client.post(f"/tickets/{ticket.id}/restore") for _ in range(2))
    )

    assert sorted(answer.status_code for answer in answers) == [303, 404]
    assert await ticket_count(app) == 1


async def test_a_delete_forgets_deletions_older_than_the_undo_window(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    old, new = await add_ticket(app, title="old"), await add_ticket(app, title="new")
    await client.post(f"/tickets/{old.id}/delete")
    async with app.state.db.transaction() as session:
        long_ago = utcnow() - UNDO_WINDOW - timedelta(seconds=1)
        await session.exec(update(DeletedTicket).values(deleted_at=long_ago))  # type: ignore[call-overload]

    await client.post(f"/tickets/{new.id}/delete")

    async with app.state.db.session() as session:
        assert await session.get(DeletedTicket, old.id) is None
        assert await session.get(DeletedTicket, new.id) is not None


async def test_a_cross_site_undo_is_refused(app: Starlette, client: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app)
    await client.post(f"/tickets/{ticket.id}/delete")

    response = await client.post(
        f"/tickets/{ticket.id}/restore", headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert response.status_code == 403
    assert await ticket_count(app) == 0


# -- forms and URLs ---------------------------------------------------------


async def test_an_invalid_form_comes_back_in_place_without_a_new_address(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    response = await client.post(
        f"/tickets/{ticket.id}/update", data={"title": " ", "content": ""}, headers=HTMX
    )

    assert response.status_code == 422
    assert response.headers["hx-retarget"] == "#ticket-form"
    assert response.headers["hx-push-url"] == "false"  # a reload would GET .../update
    # Focus goes to the first invalid field; each message is tied to its field
    # and uses the label's word.
    assert response.text.count("autofocus") == 1
    assert 'aria-describedby="title-error" autofocus' in response.text
    assert '<small id="content-error" class="field-error">Enter a description.</small>' in (
        response.text
    )


async def test_reloading_an_action_url_leads_somewhere_useful(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Fax <jammed>")

    update = await client.get(f"/tickets/{ticket.id}/update")
    confirm = await client.get(f"/tickets/{ticket.id}/delete")
    unknown = await client.get("/tickets/nope/delete")

    assert update.status_code == 303
    assert update.headers["location"] == f"/tickets/{ticket.id}"
    # Without JavaScript, Delete asks first: a page with the real form.
    assert confirm.status_code == 200
    assert '<h1 id="confirm-title">Delete “Fax &lt;jammed&gt;”?</h1>' in confirm.text
    assert f'<form method="post" action="/tickets/{ticket.id}/delete"' in confirm.text
    assert await ticket_count(app) == 1
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/", "Home · Tickets, on-demand"),
        ("/tickets", "All tickets · Tickets, on-demand"),
        ("/tickets?status=DONE", "Done tickets · Tickets, on-demand"),
        ("/tickets/nope", "Not found · Tickets, on-demand"),
    ],
)
async def test_an_htmx_page_brings_its_title(
    client: httpx.AsyncClient, path: str, title: str
) -> None:
    response = await client.get(path, headers=HTMX)

    assert response.text.startswith(f"<title>{title}</title>")
    assert "<html" not in response.text


async def test_a_rows_delete_is_named_delete_and_described_by_its_title(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Fax jammed")

    page = (await client.get("/tickets")).text

    assert f'<a id="title-{ticket.id}" class="ticket-row__title"' in page
    assert f'aria-describedby="title-{ticket.id}">Delete</button>' in page
    assert len(re.findall(r'id="ticket-[0-9a-f]{8}-', page)) == 1  # one per ticket (the contract)
