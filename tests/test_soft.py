"""Soft invalidation through the app: the old page once, then the new one, row and page.

``revalidate_tag(t, soft=True)`` (data changed elsewhere, say by a script)
lets readers get the stale page once while one background render replaces
it; that render must not reuse a row fragment the same bump made stale.
Checked against the oracle: after the refresh, the list is what the app
with nothing cached answers. Runs on memory + SQLite and on Redis + PostgreSQL.
"""

from __future__ import annotations

import httpx
from sqlalchemy import text
from starlette.applications import Starlette

from app.deps import names
from app.models import Ticket
from tests.helpers import add_ticket


async def rename_behind_the_app(app: Starlette, ticket: Ticket, title: str) -> None:
    """A write the app's session hook does not see: nothing is invalidated by it."""
    async with app.state.db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE ticket SET title = :title WHERE id = :id"),
            {"title": title, "id": ticket.id},
        )


async def test_a_soft_bump_of_a_row_serves_the_old_list_once_then_the_new_row(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    kept = await add_ticket(app, title="Kept as it was")
    renamed = await add_ticket(app, title="Printer on fire")
    assert (await visitor.get("/tickets")).headers["x-cache"] == "MISS"
    assert (await visitor.get("/tickets")).headers["x-cache"] == "HIT"

    await rename_behind_the_app(app, renamed, "Printer fixed")
    await app.state.cache.revalidate_tag(names.row(Ticket.__table__, [renamed.id]), soft=True)
    stale = await visitor.get("/tickets")
    answers = [stale]
    # The page's refresh embeds the list's window, stale too: the page it stores
    # is stale at once, and the next read refreshes it again. Two rounds at most.
    while answers[-1].headers["x-cache"] == "STALE" and len(answers) < 3:
        await app.state.cache.settle()  # the background render(s) of the page
        answers.append(await visitor.get("/tickets"))
    fresh = answers[-1]

    assert stale.headers["x-cache"] == "STALE" and "Printer on fire" in stale.text
    assert fresh.headers["x-cache"] == "HIT", [a.headers["x-cache"] for a in answers]
    assert "Printer fixed" in fresh.text and "Printer on fire" not in fresh.text
    assert kept.title in fresh.text
