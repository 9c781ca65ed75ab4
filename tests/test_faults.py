"""Odd input and races: a clear 4xx, never a 5xx, and nothing changed."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from app.models import TicketStatus
from tests.conftest import add_ticket, ticket_count


@pytest.mark.parametrize("round_", range(3))
async def test_updates_racing_a_delete_are_2xx_or_404_never_5xx(
    app: Starlette, client: httpx.AsyncClient, round_: int
) -> None:
    ticket = await add_ticket(app)
    statuses = [s.value for s in TicketStatus]

    async def update(n: int) -> int:
        data = {"status": statuses[n % 3], "title": f"Update {n}"}
        return (await client.post(f"/tickets/{ticket.id}/update", data=data)).status_code

    async def delete() -> int:
        return (await client.post(f"/tickets/{ticket.id}/delete")).status_code

    answers = await asyncio.gather(
        *(update(n) for n in range(16)), delete(), *(update(n) for n in range(16, 32))
    )

    assert set(answers) <= {303, 404}, answers
    assert answers[16] == 303  # the delete
    assert await ticket_count(app) == 0


async def test_concurrent_deletes_of_one_ticket_succeed_exactly_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    answers = await asyncio.gather(*(client.post(f"/tickets/{ticket.id}/delete") for _ in range(8)))

    assert sorted(a.status_code for a in answers) == [303] + [404] * 7


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/tickets/" + "a" * 300, id="300-characters"),
        pytest.param("/tickets/" + "a" * 5000, id="5000-characters"),
        pytest.param("/tickets/%00", id="nul"),
        pytest.param("/tickets/" + "a" * 300 + "/update", id="update"),
        pytest.param("/fragments/tickets/" + "a" * 5000 + "/row", id="row"),
        pytest.param("/tickets/6F9619FF-8B86-D011-B42D-00CF4FC964FF", id="not-our-spelling"),
    ],
)
async def test_ids_that_are_not_ticket_ids_are_404(client: httpx.AsyncClient, path: str) -> None:
    got = await client.get(path)
    posted = await client.post(path.removesuffix("/update") + "/delete")

    assert got.status_code == 404
    assert posted.status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"title": "Nul\x00byte", "content": "x"}, "title", id="nul-title"),
        pytest.param({"title": "Bell\x07", "content": "x"}, "title", id="bell-title"),
        pytest.param({"title": "Two\nlines", "content": "x"}, "title", id="newline-title"),
        pytest.param({"title": "ok", "content": "Nul\x00"}, "content", id="nul-content"),
        pytest.param({"title": "ok", "content": "Esc\x1b[31m"}, "content", id="escape-content"),
    ],
)
async def test_control_characters_in_a_field_are_422_and_change_nothing(
    app: Starlette, client: httpx.AsyncClient, fields: dict[str, str], field: str
) -> None:
    ticket = await add_ticket(app)

    created = await client.post("/tickets", data=fields)
    updated = await client.post(f"/tickets/{ticket.id}/update", data=fields)

    assert (created.status_code, updated.status_code) == (422, 422)
    assert "holds a control character" in created.text
    assert f'id="{field}-error"' in updated.text
    assert await ticket_count(app) == 1


async def test_a_description_keeps_its_line_breaks_and_tabs(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/tickets", data={"title": "Lines", "content": "one\r\ntwo\n\tthree"}
    )

    assert response.status_code == 303
    assert await ticket_count(app) == 1
