"""People on shared pages: each sees their own name and actions in holes filled
per request, from one cache entry for everyone; who may do what, enforced."""

from __future__ import annotations

import logging
import re
from time import time as real_time

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.types import Scope

from app.accounts import sessions
from app.accounts import viewer as viewer_module
from app.accounts.viewer import REMEMBER_SECONDS, Remembered, Viewer
from app.models import Ticket, User
from tests.helpers import HTMX, PASSWORD, add_ticket, app_client, sign_up, ticket_count

DELETE_BUTTON = re.compile(r"<button[^>]*>Delete</button>")
MARKER = "<esi:include"


async def ticket_by(app: Starlette, client: httpx.AsyncClient, title: str) -> str:
    """A ticket made through the app by whoever ``client`` is; its id."""
    made = await client.post("/tickets", data={"title": title, "content": "x"}, headers=HTMX)
    assert made.status_code == 200, made.text
    async with app.state.db.session() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.title == title))).one()
    return ticket.id


def row_of(page: str, ticket_id: str) -> str:
    found = re.search(rf'<li id="ticket-{ticket_id}".*?</li>', page, re.S)
    assert found is not None, f"no row for {ticket_id}"
    return found.group(0)


@pytest.mark.parametrize("path", ["/", "/tickets", "ticket"])
async def test_each_person_sees_their_own_name_from_one_shared_entry(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    visitor: httpx.AsyncClient,
    path: str,
) -> None:
    if path == "ticket":
        path = f"/tickets/{(await add_ticket(app)).id}"
    ada_page = await client.get(path)
    bob_page = await bob.get(path)
    visitor_page = await visitor.get(path)

    assert [p.status_code for p in (ada_page, bob_page, visitor_page)] == [200, 200, 200]
    assert ada_page.headers["x-cache"] == "MISS"
    assert bob_page.headers["x-cache"] == visitor_page.headers["x-cache"] == "HIT"
    assert "Signed in as <strong>Ada</strong>" in ada_page.text and "Bob" not in ada_page.text
    assert "Signed in as <strong>Bob</strong>" in bob_page.text and "Ada" not in bob_page.text
    assert "Signed in as" not in visitor_page.text
    assert re.search(r'<a class="nav-link" href="/login"[^>]*>Sign in</a>', visitor_page.text)
    assert all(MARKER not in p.text for p in (ada_page, bob_page, visitor_page))
    assert ada_page.headers["cache-control"] == "private, no-cache"
    assert visitor_page.headers["cache-control"] == "no-cache"


async def test_delete_is_offered_only_to_the_author_and_admins(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    visitor: httpx.AsyncClient,
) -> None:
    adas = await ticket_by(app, client, "Ada's ticket")
    bobs = await ticket_by(app, bob, "Bob's ticket")

    pages = {
        name: (await c.get("/tickets")).text
        for name, c in [("ada", client), ("bob", bob), ("visitor", visitor)]
    }

    def offered(who: str, ticket_id: str) -> bool:
        return DELETE_BUTTON.search(row_of(pages[who], ticket_id)) is not None

    assert offered("ada", adas) and offered("ada", bobs)  # the admin
    assert offered("bob", bobs) and not offered("bob", adas)
    assert not offered("visitor", adas) and not offered("visitor", bobs)
    assert "by Ada" in row_of(pages["visitor"], adas)  # each ticket shows its author
    ticket_page = (await bob.get(f"/tickets/{adas}")).text
    assert "Opened by Ada" in ticket_page and not DELETE_BUTTON.search(ticket_page)
    assert DELETE_BUTTON.search((await bob.get(f"/tickets/{bobs}")).text)


async def test_a_live_refresh_and_an_actions_answer_have_their_holes_filled(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    bobs = await ticket_by(app, bob, "Bob's ticket")

    row = await bob.get(f"/fragments/tickets/{bobs}/row")
    ada_row = await client.get(f"/fragments/tickets/{bobs}/row")
    changed = await bob.post(
        f"/tickets/{bobs}/update",
        data={"status": "DONE"},
        headers={**HTMX, "HX-Target": f"ticket-{bobs}"},
    )

    assert DELETE_BUTTON.search(row.text) and DELETE_BUTTON.search(ada_row.text)
    assert ada_row.headers["x-cache"] == "HIT"
    assert changed.status_code == 200 and DELETE_BUTTON.search(changed.text)
    assert MARKER not in row.text + changed.text


class Heard:
    def __init__(self, app: Starlette) -> None:
        self.tags: list[frozenset[str]] = []
        app.state.cache.on_invalidate(self.tags.append)


async def test_a_visitor_cannot_write(app: Starlette, visitor: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app)
    heard = Heard(app)
    page = {"Referer": "http://localhost/tickets?status=OPEN"}

    created = await visitor.post("/tickets", data={"title": "t", "content": "c"}, headers=page)
    updated = await visitor.post(f"/tickets/{ticket.id}/update", data={"status": "DONE"})
    deleted = await visitor.post(f"/tickets/{ticket.id}/delete", headers=HTMX)

    assert created.status_code == 303
    assert created.headers["location"] == "/login?next=%2Ftickets%3Fstatus%3DOPEN"
    assert updated.status_code == 303 and updated.headers["location"].startswith("/login")
    assert deleted.status_code == 403 and "Sign in" in deleted.text
    assert await ticket_count(app) == 1
    async with app.state.db.session() as session:
        assert (await session.get(Ticket, ticket.id)).status == ticket.status  # type: ignore[union-attr]
    assert heard.tags == []


async def test_a_ticket_nobody_wrote_may_be_deleted_by_an_admin_only(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    """The demo and seeded tickets have no author: nobody may delete them but an admin."""
    orphan = await add_ticket(app, title="Nobody's ticket")
    assert orphan.author_id is None

    bobs_list, bobs_page = (
        (await bob.get("/tickets")).text,
        (await bob.get(f"/tickets/{orphan.id}")),
    )
    refused = await bob.post(f"/tickets/{orphan.id}/delete", headers=HTMX)
    adas_list = (await client.get("/tickets")).text

    assert not DELETE_BUTTON.search(row_of(bobs_list, orphan.id))
    assert not DELETE_BUTTON.search(bobs_page.text)
    assert refused.status_code == 403 and await ticket_count(app) == 1
    assert DELETE_BUTTON.search(row_of(adas_list, orphan.id))
    assert (await client.post(f"/tickets/{orphan.id}/delete")).status_code == 303
    assert await ticket_count(app) == 0


async def test_nobody_but_the_author_or_an_admin_deletes_or_restores(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    adas = await ticket_by(app, client, "Ada's ticket")
    bobs = await ticket_by(app, bob, "Bob's ticket")
    heard = Heard(app)

    refused = await bob.post(f"/tickets/{adas}/delete", headers=HTMX)
    assert refused.status_code == 403 and "author or an admin" in refused.text
    assert heard.tags == [] and await ticket_count(app) == 2

    # Bob may delete his own; Ada (the admin) may restore it, and delete it again.
    assert (await bob.post(f"/tickets/{bobs}/delete")).status_code == 303
    # An undo is a write like a delete: Bob may not restore Ada's.
    assert (await client.post(f"/tickets/{adas}/delete")).status_code == 303
    heard.tags.clear()
    not_his = await bob.post(f"/tickets/{adas}/restore", headers=HTMX)
    assert not_his.status_code == 403 and heard.tags == []
    assert (await client.post(f"/tickets/{adas}/restore")).status_code == 303  # still there to undo
    assert (await client.post(f"/tickets/{bobs}/restore")).status_code == 303
    assert await ticket_count(app) == 2


async def test_the_author_the_assignee_and_admins_may_edit_and_nobody_else(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    adas = await ticket_by(app, client, "Ada's ticket")
    heard = Heard(app)

    refused = await bob.post(
        f"/tickets/{adas}/update", data={"title": "Edited by Bob"}, headers=HTMX
    )
    assert refused.status_code == 403 and "author, its assignee or an admin" in refused.text
    assert heard.tags == [] and "Edited by Bob" not in (await bob.get(f"/tickets/{adas}")).text

    async with app.state.db.session() as session:
        bob_id = (await session.exec(select(User.id).where(User.name == "Bob"))).one()
    assigned = await client.post(f"/tickets/{adas}/update", data={"assignee": bob_id})
    edited = await bob.post(f"/tickets/{adas}/update", data={"title": "Edited by Bob"})

    assert assigned.status_code == edited.status_code == 303
    assert "Edited by Bob" in (await bob.get(f"/tickets/{adas}")).text


async def test_a_cross_site_post_with_a_valid_session_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    heard = Heard(app)

    forged = await client.post(
        f"/tickets/{ticket.id}/delete", headers={"Origin": "https://evil.example"}
    )
    fetched = await client.post(
        "/tickets", data={"title": "t", "content": "c"}, headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert forged.status_code == fetched.status_code == 403
    assert await ticket_count(app) == 1 and heard.tags == []


async def test_after_signing_out_the_old_cookie_is_worthless_though_its_person_was_cached(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    await sign_up(visitor)
    token = visitor.cookies[sessions.COOKIE]
    assert "Signed in as" in (await visitor.get("/tickets")).text  # read, and cached
    assert "Signed in as" in (await visitor.get("/tickets")).text

    assert (await visitor.post("/logout")).status_code == 303
    async with app_client(app) as thief:
        thief.cookies.set(sessions.COOKIE, token)
        page = await thief.get("/tickets")
        write = await thief.post("/tickets", data={"title": "t", "content": "c"})

    assert "Signed in as" not in page.text
    assert write.status_code == 303 and write.headers["location"].startswith("/login")
    assert await ticket_count(app) == 0


async def test_a_cookie_that_names_no_session_is_nobody_and_fills_no_cache(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    visitor.cookies.set(sessions.COOKIE, "made-up")
    for _ in range(2):
        page = await visitor.get("/tickets")
        assert "Signed in as" not in page.text
    assert await app.state.cache.lookup(f"session {sessions.digest('made-up')}") is None


async def test_the_password_is_in_no_log(
    visitor: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await sign_up(visitor)
    await visitor.post("/logout")
    await visitor.post("/login", data={"email": "ada@example.com", "password": PASSWORD + "!"})
    await visitor.post("/login", data={"email": "ada@example.com", "password": PASSWORD})

    assert caplog.records  # something was logged (SQL, at DEBUG), and none of it holds it
    assert PASSWORD not in caplog.text


async def test_a_hole_answers_alone_for_an_edge(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket_id = await ticket_by(app, client, "Ada's")
    account = await client.get("/holes/account")
    nobody = await visitor.get("/holes/account")
    unknown = await client.get("/holes/nothing-here")
    odd = await client.get(f"/holes/tickets/{ticket_id}/delete/row/not-an-author-id")

    assert "Signed in as <strong>Ada</strong>" in account.text
    assert account.headers["cache-control"] == "private, no-cache"
    assert "Sign in" in nobody.text
    assert unknown.status_code == odd.status_code == 404


async def test_a_delete_hole_answers_what_the_edge_decided_the_same_for_everyone(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    """The edge picks ``may`` from the viewer cookie (edge/tickets.vcl); the
    answer is not the asker's: Ada's and a visitor's are the same, and shared."""
    ticket_id = await ticket_by(app, client, "Ada's")
    hole = f"/holes/tickets/{ticket_id}/delete/row/none"
    may = [await asker.get(hole + "?may=1") for asker in (client, visitor)]
    may_not = [await asker.get(hole + "?may=0") for asker in (client, visitor)]
    odd = await client.get(hole + "?may=yes")

    assert may[0].text == may[1].text and DELETE_BUTTON.search(may[0].text)
    assert may_not[0].text == may_not[1].text == ""
    for answer in (*may, *may_not):
        assert answer.headers["xkey"] == "holes" and answer.headers["cache-control"] == "no-cache"
        assert "vary" not in answer.headers
    assert odd.status_code == 400 and "may is 1 or 0" in odd.text


async def test_an_edge_gets_the_shared_page_with_its_holes_marked(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await add_ticket(app)
    edge = await client.get("/tickets", headers={"Surrogate-Capability": 'varnish="ESI/1.0"'})

    assert edge.headers["surrogate-control"] == 'content="ESI/1.0"'
    assert '<esi:include src="/holes/account"/>' in edge.text
    assert re.search(
        r'<esi:include src="/holes/tickets/[0-9a-f-]{36}/delete/row/none"/>', edge.text
    )
    assert "Ada" not in edge.text


class FakeClock:
    """``viewer.time``: a monotonic clock moved by hand; wall time ``offset`` ahead."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.offset = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return real_time() + self.offset


def test_a_process_remembers_a_token_for_a_second_at_most_and_forgets_it_when_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(viewer_module, "time", clock)
    remembered = Remembered()
    ada = Viewer("a" * 36, "Ada", True, expires_at=real_time() + 60)
    remembered.put(b"ada-token", ada)
    remembered.put(b"bob-token", Viewer("b" * 36, "Bob", False, expires_at=real_time() + 60))

    assert remembered.get(b"ada-token") is ada
    clock.now += REMEMBER_SECONDS + 0.001
    assert remembered.get(b"ada-token") is None  # read its entry again
    remembered.put(b"ada-token", ada)

    remembered.forget(frozenset({sessions.dependency(sessions.digest("ada-token")), "ticket?"}))
    assert remembered.get(b"ada-token") is None and remembered.get(b"bob-token") is None  # expired
    remembered.put(b"bob-token", ada)
    remembered.forget(frozenset({"*"}))  # a lost channel: everyone is read again
    assert remembered.get(b"bob-token") is None


def test_a_process_that_hears_every_bump_remembers_a_token_until_it_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(viewer_module, "time", clock)
    remembered = Remembered()
    ada = Viewer("a" * 36, "Ada", False, expires_at=real_time() + 60)
    remembered.put(b"ada-token", ada)
    clock.now += 3600

    assert remembered.get(b"ada-token", hears_all=True) is ada
    assert remembered.get(b"ada-token") is None  # one that cannot tell: a second at most
    remembered.forget(frozenset({sessions.person_dependency(ada.id)}))  # renamed
    assert remembered.get(b"ada-token", hears_all=True) is None


@pytest.mark.parametrize("hears_all", [True, False])
async def test_a_session_is_read_again_after_a_second_only_by_a_process_that_may_have_missed_news(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, hears_all: bool
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(viewer_module, "time", clock)
    # As a memory store, or Redis with a near copy and its channel heard; or
    # as Redis without a near copy, or its channel lost: it cannot tell what moved.
    monkeypatch.setattr(app.state.cache, "mark", lambda: 1 if hears_all else None)
    reads: list[str] = []
    of_token = viewer_module._of_token

    async def counted(scope: Scope, token: str) -> Viewer | None:
        reads.append(token)
        return await of_token(scope, token)

    monkeypatch.setattr(viewer_module, "_of_token", counted)
    pages = [(await client.get("/tickets")).text]
    clock.now += REMEMBER_SECONDS + 0.001
    pages.append((await client.get("/tickets")).text)

    assert all("Signed in as <strong>Ada</strong>" in page for page in pages)
    assert len(reads) == (1 if hears_all else 2)


def test_remembering_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(viewer_module, "REMEMBER_MAX", 3)
    remembered = Remembered()
    ada = Viewer("a" * 36, "Ada", True, expires_at=real_time() + 60)
    for n in range(4):
        remembered.put(f"token-{n}".encode(), ada)

    assert [remembered.get(f"token-{n}".encode()) for n in range(4)] == [None, None, None, ada]


async def test_an_expired_session_is_nobody_even_when_remembered(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Signed in as" in (await client.get("/")).text  # remembered, and its entry cached
    clock = FakeClock()
    clock.offset = sessions.LIFETIME.total_seconds() + 1
    monkeypatch.setattr(viewer_module, "time", clock)

    remembered = await client.get("/")
    app.state.viewers.forget(frozenset({"*"}))
    from_its_entry = await client.get("/")

    assert "Signed in as" not in remembered.text
    assert "Signed in as" not in from_its_entry.text


async def test_a_session_cookie_of_odd_bytes_is_nobody_not_an_error(
    visitor: httpx.AsyncClient,
) -> None:
    page = await visitor.get("/tickets", headers={"Cookie": b"session=\xff\xfe; other=1"})

    assert page.status_code == 200 and "Signed in as" not in page.text
