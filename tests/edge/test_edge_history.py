"""A ticket's history, its conflicts and who may edit it, through the edge
cache (real Varnish) in front of the real server: the edit controls' marks
are decided at the edge from the viewer cookie, a write's timeline entry is
read at once, and a refused save purges nothing."""

from __future__ import annotations

import re
import time

import httpx

from harness.client import create_ticket, held_past_spare_purge, sign_up
from harness.servers import EdgeServer

MARK = '<span class="may-edit" hidden></span>'


def client(edge: EdgeServer) -> httpx.Client:
    return httpx.Client(base_url=edge.base_url, timeout=10)


def part(page: httpx.Response, pattern: str) -> str:
    found = re.search(pattern, page.text, re.S)
    assert found is not None, pattern
    return found.group(0)


def test_the_edge_marks_the_edit_controls_for_author_assignee_and_admins(
    edge: EdgeServer,
) -> None:
    with client(edge) as ada, client(edge) as bob, client(edge) as carol, client(edge) as dan:
        people = {"Ada": ada, "Bob": bob, "Carol": carol, "Dan": dan}  # Ada: the admin
        for name, person in people.items():
            sign_up(person, name=name)
        ticket_id = create_ticket(carol, title="Carol's ticket")
        bob_id = bob.cookies["viewer"]  # the edge's cookie: who Bob is
        assert (
            carol.post(f"/tickets/{ticket_id}/update", data={"assignee": bob_id}).status_code == 303
        )
        for _ in range(2):  # the edge fetches each decided hole once: now it has them all
            for person in people.values():
                person.get("/tickets")
                person.get(f"/tickets/{ticket_id}")
        before = edge.backend_requests()
        lists = {name: person.get("/tickets") for name, person in people.items()}
        pages = {name: person.get(f"/tickets/{ticket_id}") for name, person in people.items()}
        asked = edge.backend_requests() - before

    # Each page's account hole, and the marks are the edge's: were they asked of
    # the app, each page would cost three more (two marks and a Delete). A page
    # object the edge fetches again on a loaded machine may add one or two.
    assert 2 * len(people) <= asked <= 2 * len(people) + 2
    row = rf'<li id="ticket-{ticket_id}".*?</li>'
    marks = {name: part(page, row).count(MARK) for name, page in lists.items()}
    assert marks == {"Ada": 2, "Bob": 1, "Carol": 1, "Dan": 0}
    article = r"<article .*?</article>"
    assert {name: part(page, article).count(MARK) for name, page in pages.items()} == marks


def test_an_edit_is_in_the_timeline_at_once_and_a_clash_purges_nothing(edge: EdgeServer) -> None:
    with client(edge) as ada:
        sign_up(ada, name="Ada")
        ticket_id = create_ticket(ada, title="Printer")
        page = f"/tickets/{ticket_id}"
        source = f"/fragments/tickets/{ticket_id}/history"
        ada.get(page)
        ada.get(source, headers={"HX-Request": "true"})
        version = re.search(r'name="version" value="(\d+)"', ada.get(page).text)
        assert version is not None

        edited = ada.post(f"{page}/update", data={"title": "Printer jammed"})
        edited_at = time.monotonic()
        assert edited.status_code == 303
        timeline = ada.get(source, headers={"HX-Request": "true"})
        assert "Printer jammed" in timeline.text  # never the entry the edge kept before

        # Held again, the edit's spare purge behind it: only the clash could purge now.
        assert held_past_spare_purge(ada, page, edited_at)
        clash = ada.post(
            f"{page}/update", data={"title": "Printer fixed", "version": version.group(1)}
        )
        assert clash.status_code == 409
        assert ada.get(page).headers["cache-status"].endswith("edge; hit")  # nothing purged
