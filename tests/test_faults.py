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
