"""Assignees, sorts and renames through the edge (real Varnish): lists filtered
by assignee and sorted are kept there and purged by an assignment or a rename
before its answer; ``?assignee=me`` and ``/account`` reach the app with the
person's session (the edge passes them)."""

from __future__ import annotations

import re

import httpx

from harness.client import create_ticket, sign_up
from harness.servers import EdgeServer

ROW = re.compile(r'<li id="ticket-([0-9a-f-]+)" class="ticket-row')


def test_an_assignment_and_a_rename_are_fresh_through_the_edge(edge: EdgeServer) -> None:
    with httpx.Client(base_url=edge.base_url, timeout=10) as ada:
        sign_up(ada, name="Ada")
        ticket = create_ticket(ada, title="Through the edge")
        for _ in range(2):  # the second read is the edge's
            unassigned = ada.get("/tickets?assignee=none")
            by_update = ada.get("/tickets?sort=updated")
        assert unassigned.headers["cache-status"].endswith("edge; hit")
        assert ROW.findall(unassigned.text) == [ticket]

        assigned = ada.post(f"/tickets/{ticket}/update", data={"assignee": "me"})
        mine = [ada.get("/tickets?assignee=me") for _ in range(2)][-1]  # the edge keeps none
        after = ada.get("/tickets?assignee=none")
        renamed = ada.post("/account", data={"name": "Ada Lovelace"})
        listed = ada.get("/tickets?sort=updated")
        account = ada.get("/account")
        visitor = httpx.get(f"{edge.base_url}/tickets?assignee=me")

    assert assigned.status_code == 303
    assert mine.status_code == 200 and ROW.findall(mine.text) == [ticket]
    assert mine.headers["cache-control"] == "private, no-store"
    assert "edge; hit" not in mine.headers.get("cache-status", "")
    assert ROW.findall(after.text) == []
    assert renamed.status_code == 303 and renamed.headers["location"] == "/account"
    assert "assigned to Ada Lovelace" in listed.text and by_update.status_code == 200
    assert "Signed in as <strong>Ada Lovelace</strong>" in listed.text
    assert account.status_code == 200 and 'value="Ada Lovelace"' in account.text
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login?next=")
