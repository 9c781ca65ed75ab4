"""Who may edit a ticket, shown honestly: its edit controls (the row's status
select, the page's Edit) are marked for its author, its assignee and admins
by per-person holes in one shared body; others see the status as a badge,
and a refused edit is a 403 that says why."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from app import edge_contract, paths
from app.accounts.permissions import EDITORS
from app.accounts.viewer import Viewer
from app.models import Ticket, User
from tests.helpers import HTMX

MARK = '<span class="may-edit" hidden></span>'
ADA, BOB, CAROL = (f"{n:08x}-0000-4000-8000-000000000000" for n in (1, 2, 3))


@pytest.fixture
async def ticket_id(app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient) -> str:
    """Ada's ticket (she is the admin), assigned to Bob."""
    made = await client.post("/tickets", data={"title": "Printer", "content": "On fire."})
    assert made.status_code == 303
    async with app.state.db.session() as session:
        ticket_id = (await session.exec(select(Ticket.id))).one()
        bob_id = (await session.exec(select(User.id).where(User.name == "Bob"))).one()
    await client.post(paths.ticket_update_path(ticket_id), data={"assignee": bob_id})
    return ticket_id


def row_of(page: str, ticket_id: str) -> str:
    found = re.search(rf'<li id="ticket-{ticket_id}".*?</li>', page, re.S)
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize(
    ("who", "marks"),
    [
        pytest.param("ada", 2, id="Ada: the author, and an admin"),
        pytest.param("bob", 1, id="Bob: the assignee"),
        pytest.param("carol", 0, id="Carol: neither"),
        pytest.param("visitor", 0, id="a visitor"),
    ],
)
async def test_the_edit_controls_are_marked_for_editors_only(
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    visitor: httpx.AsyncClient,
    ticket_id: str,
    who: str,
    marks: int,
) -> None:
    asker = {"ada": client, "bob": bob, "carol": carol, "visitor": visitor}[who]
    page = (await asker.get(paths.ticket_path(ticket_id))).text
    listed = (await asker.get(paths.tickets_path())).text

    article = page.split('<article id="ticket-', 1)[1].split("</article>", 1)[0]
    assert article.count(MARK) == marks
    assert row_of(listed, ticket_id).count(MARK) == marks
    assert 'class="edit-ticket for-editors"' in article  # shown by the style sheet, or not


async def test_a_ticket_without_assignee_marks_its_author_and_admins(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, ticket_id: str
) -> None:
    await client.post(paths.ticket_update_path(ticket_id), data={"assignee": ""})
    assert MARK not in row_of((await bob.get(paths.tickets_path())).text, ticket_id)
    assert MARK in row_of((await client.get(paths.tickets_path())).text, ticket_id)


async def test_a_refused_edit_says_who_may(carol: httpx.AsyncClient, ticket_id: str) -> None:
    answer = await carol.post(
        paths.ticket_update_path(ticket_id), data={"status": "DONE"}, headers=HTMX
    )
    assert (answer.status_code, answer.text) == (403, EDITORS)


def edge_decides(viewer_cookie: str, src: str) -> bool:
    """The VCL's rule for every ``/holes/tickets/`` hole: the admin, or the
    src's last segment (edge/tickets.vcl)."""
    return viewer_cookie == edge_contract.ADMIN or viewer_cookie == src.rsplit("/", 1)[1]


@pytest.mark.parametrize("author", [ADA, None], ids=["by Ada", "by nobody"])
@pytest.mark.parametrize("assignee", [BOB, None], ids=["on Bob", "on nobody"])
@pytest.mark.parametrize(
    "viewer",
    [
        pytest.param(Viewer(ADA, "Ada", False, 0.0), id="Ada"),
        pytest.param(Viewer(BOB, "Bob", False, 0.0), id="Bob"),
        pytest.param(Viewer(CAROL, "Carol", False, 0.0), id="Carol"),
        pytest.param(Viewer(CAROL, "Carol", True, 0.0), id="Carol, an admin"),
    ],
)
def test_the_edge_marks_exactly_whom_the_app_lets_edit(
    viewer: Viewer, author: str | None, assignee: str | None
) -> None:
    """A ticket holds an editor hole for its author, and one for its assignee
    if any: the edge's decisions, taken together, are ``may_edit``."""
    cookie = edge_contract.viewer_cookie(viewer.id, is_admin=viewer.is_admin)
    srcs = [paths.editor_hole_path(author)]
    if assignee:
        srcs.append(paths.editor_hole_path(assignee))
    assert any(edge_decides(cookie, src) for src in srcs) == viewer.may_edit(author, assignee)
    for person, src in zip([author, assignee], srcs, strict=False):
        assert "?" not in src  # the edge appends its may= as the query
        assert edge_contract.parse_owned_hole(src) == edge_contract.OwnedHole("editor", person, {})


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("/holes/tickets/editor/someone", id="not an id"),
        pytest.param(f"/holes/tickets/editor/{ADA}/more", id="more after it"),
    ],
)
def test_other_srcs_are_no_editor_hole(src: str) -> None:
    assert edge_contract.parse_owned_hole(src) is None


async def test_the_edge_asks_for_an_editor_hole_decided(visitor: httpx.AsyncClient) -> None:
    """What the edge fetches: the mark, or nothing, the same for everyone."""
    src = paths.editor_hole_path(ADA)
    may = await visitor.get(f"{src}?{edge_contract.may_query(True)}")
    may_not = await visitor.get(f"{src}?{edge_contract.may_query(False)}")
    assert (may.status_code, may.text.strip()) == (200, MARK)
    assert (may_not.status_code, may_not.text) == (200, "")
