"""Invalidation follows the database transaction."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from starlette.applications import Starlette

from app.cache import revalidate_tag
from app.models import Ticket
from app.settings import Settings
from harness.metrics import metrics
from tests.helpers import add_ticket, sqlite_only


@sqlite_only
async def test_committed_action_invalidates_after_commit(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    """When the invalidation is applied, another connection already sees the write."""
    ticket = await add_ticket(app)
    seen_by_other_connection: list[int] = []
    database_file = settings.database_url.split("///", 1)[1]

    def on_invalidate(tags: frozenset[str]) -> None:
        with sqlite3.connect(database_file) as other:
            (count,) = other.execute("SELECT count(*) FROM ticket").fetchone()
        seen_by_other_connection.append(count)

    app.state.cache.on_invalidate(on_invalidate)
    response = await client.post(f"/tickets/{ticket.id}/delete")

    assert response.status_code == 303
    assert seen_by_other_connection == [0]  # one batch, applied after COMMIT


async def test_rolled_back_action_invalidates_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await client.get("/tickets")
    heard: list[frozenset[str]] = []
    app.state.cache.on_invalidate(heard.append)

    with app.state.cache.bound(), pytest.raises(RuntimeError, match="constraint"):
        async with app.state.db.transaction() as session:
            session.add(Ticket(title="never", content="committed"))
            await revalidate_tag("tickets")
            raise RuntimeError("constraint failed after the invalidation was queued")

    assert heard == []
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"


async def test_metrics_count_what_the_cache_did(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await visitor.get("/tickets")
    await visitor.get("/tickets")
    before = metrics((await client.get("/metrics")).text)
    await client.post(f"/tickets/{ticket.id}/update", data={"status": "DONE"})

    text = (await client.get("/metrics")).text
    after = metrics(text)

    def moved(family: str) -> float:
        key = f'cache_invalidations_total{{family="{family}"}}'
        return after[key] - before[key]

    # The status change moves the ticket's row, its three changed columns
    # (status, updated_at, version), both statuses' memberships and the table
    # (family "ticket"),
    # and the two counts the triggers keep, their membership and table
    # ("ticket_count"): a label per table, never one per id or value.
    assert (moved("ticket"), moved("ticket_count")) == (7, 4)
    assert "cache_hits_total 1.0" in text
    # The page, its counts, list page and legend, the list's one row, and
    # whose session the update came with (app/accounts/viewer.py).
    assert "cache_misses_total 6.0" in text
    assert "cache_renders_total 6.0" in text
    assert "cache_render_seconds_count 6.0" in text
    assert "\ncache_entries " in text and "\ncache_bytes " in text
