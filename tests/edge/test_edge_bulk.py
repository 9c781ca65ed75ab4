"""Bulk actions through the edge (Varnish with xkey): every page a bulk write
moves is purged there before its answer, one purge for all of its rows."""

from __future__ import annotations

import re

import httpx
import pytest

from app import paths
from harness.client import create_ticket, held_by_edge, sign_up
from harness.servers import EdgeServer


@pytest.fixture
def edge_url(edge: EdgeServer) -> str:
    """The edge's URL, the app behind it (over SQLite)."""
    return edge.base_url


def status_of(listing: str, ticket_id: str) -> str:
    found = re.search(rf'<li id="ticket-{ticket_id}" class="ticket-row status-(\w+)"', listing)
    return found.group(1) if found else "gone"


def test_no_read_through_the_edge_is_stale_after_a_bulk_write_was_answered(
    edge_url: str,
) -> None:
    with httpx.Client(base_url=edge_url, timeout=10) as http:
        sign_up(http, name="Ada")
        chosen = [create_ticket(http, title=f"Bulk edge {n}") for n in range(3)]
        other = create_ticket(http, title="Left alone")
        pages = [paths.tickets_path(), *(paths.ticket_path(t) for t in chosen)]
        for page in pages * 2:
            http.get(page)
        assert held_by_edge(http, pages[1])

        changed = http.post(
            paths.tickets_bulk_path(), data={"ids": chosen, "action": "status", "status": "DONE"}
        )
        listing = http.get(paths.tickets_path()).text
        shown = [http.get(paths.ticket_path(t)).text for t in chosen]

        deleted = http.post(
            paths.tickets_bulk_path(), data={"ids": chosen, "action": "delete", "confirmed": "yes"}
        )
        after_delete = http.get(paths.tickets_path()).text
        gone = [http.get(paths.ticket_path(t)).status_code for t in chosen]

        restored = http.post(paths.tickets_restore_path(chosen))
        after_undo = http.get(paths.tickets_path()).text

    assert changed.status_code == 303
    assert [status_of(listing, t) for t in chosen] == ["done"] * 3
    assert status_of(listing, other) == "open"
    assert all('class="badge status-done"' in page for page in shown)
    assert deleted.status_code == 303
    assert [status_of(after_delete, t) for t in chosen] == ["gone"] * 3
    assert gone == [404] * 3
    assert restored.status_code == 303
    assert [status_of(after_undo, t) for t in chosen] == ["done"] * 3
