"""Comments through the edge (Varnish with xkey, scripts/edge): a comment shows
on its ticket's page, in its live list and as its row's count on the very next
read after its answer; each comment's Edit and Delete are decided at the edge
for its author and admins, as a ticket's Delete is."""

from __future__ import annotations

import re

import httpx

from app import paths
from harness.client import create_ticket, held_by_edge, sign_up
from harness.servers import EdgeServer


def comment_id_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("#comment-", 1)[1]


def comment_in(page: httpx.Response, comment_id: str) -> str:
    found = re.search(rf'<li id="comment-{comment_id}".*?</li>', page.text, re.S)
    assert found is not None, f"no comment {comment_id}"
    return found.group(0)


def test_a_comment_shows_through_the_edge_on_the_next_read_after_its_answer(
    edge: EdgeServer,
) -> None:
    with httpx.Client(base_url=edge.base_url, timeout=10) as ada:
        sign_up(ada, name="Ada")  # the admin
        ticket_id = create_ticket(ada, title="Discussed at the edge")
    page, source = paths.ticket_path(ticket_id), paths.comments_source_path(ticket_id)
    htmx = {"HX-Request": "true"}
    with httpx.Client(base_url=edge.base_url, timeout=10) as visitor:
        # Each is the edge's once read (the ticket's write may purge it once more).
        assert held_by_edge(visitor, page)
        assert held_by_edge(visitor, source, headers=htmx)
        assert held_by_edge(visitor, paths.tickets_path())

        stale = 0
        with httpx.Client(base_url=edge.base_url, timeout=10) as bob:
            sign_up(bob, name="Bob")
            for n in range(1, 4):
                made = comment_id_of(
                    bob.post(paths.ticket_comments_path(ticket_id), data={"body": f"Reply {n}"})
                )
                for _ in range(5):
                    stale += f'id="comment-{made}"' not in visitor.get(page).text
                    stale += f"Reply {n}" not in visitor.get(source, headers=htmx).text
                    count = f"{n} comment{'' if n == 1 else 's'}<"
                    stale += count not in visitor.get(paths.tickets_path()).text

    assert stale == 0


def test_a_comments_edit_and_delete_are_for_its_author_and_admins_at_the_edge(
    edge: EdgeServer,
) -> None:
    with (
        httpx.Client(base_url=edge.base_url, timeout=10) as ada,
        httpx.Client(base_url=edge.base_url, timeout=10) as bob,
        httpx.Client(base_url=edge.base_url, timeout=10) as cy,
    ):
        people = {"Ada": ada, "Bob": bob, "Cy": cy}  # Ada, the first, is the admin
        for name, person in people.items():
            sign_up(person, name=name)
        ticket_id = create_ticket(ada, title="Whose comment")
        made = comment_id_of(
            bob.post(paths.ticket_comments_path(ticket_id), data={"body": "Bob's"})
        )
        for person in people.values():  # the edge fetches each decided answer once
            person.get(paths.ticket_path(ticket_id))
        pages = {name: person.get(paths.ticket_path(ticket_id)) for name, person in people.items()}
        visitor = httpx.get(edge.base_url + paths.ticket_path(ticket_id))
        refused = cy.post(paths.comment_delete_path(ticket_id, made))

    edit = f'href="{paths.comment_edit_path(ticket_id, made)}"'
    offered = {name: edit in comment_in(page, made) for name, page in pages.items()}
    assert offered == {"Ada": True, "Bob": True, "Cy": False}
    assert edit not in comment_in(visitor, made) and "<esi:include" not in visitor.text
    for page in pages.values():
        assert page.headers["cache-status"].endswith("edge; hit")
    assert refused.status_code == 403
