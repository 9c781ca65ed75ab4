"""Comments: signed-in people comment on a ticket, edit and delete their own
(admins any); the ticket's page lists them, live, each with its author's
name; each row says how many; hostile text is sanitised or refused; a comment
moves its ticket's entries and no other's."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette

from app import ids, paths
from app.models import COMMENT_MAX, Comment, Ticket, TicketChange, User
from app.notices import EVENT
from app.tickets import history
from app.tickets.comment_forms import CONTROL, EMPTY
from app.tickets.comment_views import SHOWN
from tests.helpers import HTMX, add_ticket, app_client, sign_in

# A page's comment list: up to the form after it.
LIST = re.compile(r'<div id="comment-list".*?(?=<form id="comment-form")', re.S)


@pytest.fixture
async def cy(app: Starlette, bob: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Cy, signed in after Bob: another person."""
    async with app_client(app) as cy:
        await sign_in(app, cy, "Cy")
        yield cy


async def comment(client: httpx.AsyncClient, ticket_id: str, body: str, **headers: str) -> str:
    """A comment posted through the app; its id."""
    answer = await client.post(paths.ticket_comments_path(ticket_id), data={"body": body})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("#comment-", 1)[1]


async def comments_of(app: Starlette, ticket_id: str) -> list[Comment]:
    async with app.state.db.session() as session:
        found = await session.exec(
            select(Comment)
            .where(col(Comment.ticket_id) == ticket_id)
            .order_by(col(Comment.created_at))
        )
        return list(found)


async def stored(app: Starlette, ticket_id: str) -> Ticket:
    async with app.state.db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket


async def changes(app: Starlette, ticket_id: str) -> list[tuple[str, str | None, str | None]]:
    async with app.state.db.session() as session:
        found = await session.exec(
            select(TicketChange)
            .where(col(TicketChange.ticket_id) == ticket_id)
            .order_by(col(TicketChange.id))
        )
        return [(change.kind, change.old, change.new) for change in found]


class _Markup(HTMLParser):
    """Whatever in some HTML could run: a script or other active element, an
    event handler, a link to a script."""

    ACTIVE = frozenset({"script", "img", "iframe", "object", "embed", "svg", "style", "form"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.ACTIVE and tag != "form":
            self.found.append(tag)
        for name, value in attrs:
            scheme = (value or "").strip().lower().split(":", 1)[0]
            if name.startswith("on") or (
                name in {"href", "src"} and scheme in {"javascript", "data"}
            ):
                self.found.append(f"{tag} {name}={value}")


def executable(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    return parser.found


def listed(page: str) -> str:
    found = LIST.search(page)
    assert found is not None, page
    return found.group(0)


@pytest.mark.parametrize(
    ("helper", "route_name", "params"),
    [
        pytest.param(paths.ticket_comments_path("a1"), "ticket_comments", {"ticket_id": "a1"}),
        pytest.param(
            paths.comment_edit_path("a1", "c1"),
            "comment_edit",
            {"ticket_id": "a1", "comment_id": "c1"},
        ),
        pytest.param(
            paths.comment_update_path("a1", "c1"),
            "comment_update",
            {"ticket_id": "a1", "comment_id": "c1"},
        ),
        pytest.param(
            paths.comment_delete_path("a1", "c1"),
            "comment_delete",
            {"ticket_id": "a1", "comment_id": "c1"},
        ),
        pytest.param(paths.comments_source_path("a1"), "comments_source", {"ticket_id": "a1"}),
        pytest.param(
            paths.comment_restore_path("a1", "c1"),
            "comment_restore",
            {"ticket_id": "a1", "comment_id": "c1"},
        ),
        pytest.param(paths.comments_page_path("a1"), "comments_page", {"ticket_id": "a1"}),
        pytest.param(paths.history_page_path("a1"), "history_page", {"ticket_id": "a1"}),
    ],
)
def test_path_helpers_match_the_routes(
    app: Starlette, helper: str, route_name: str, params: dict[str, str]
) -> None:
    assert helper == app.url_path_for(route_name, **params)


# -- adding ---------------------------------------------------------------------------


async def test_a_comment_is_shown_with_its_authors_name_oldest_first(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    first = await comment(bob, ticket.id, "Seen it *too*.")
    second = await comment(client, ticket.id, "On it: `lpr -P tray2`.")

    page = await visitor.get(paths.ticket_path(ticket.id))

    shown = listed(page.text)
    assert shown.index(f'id="comment-{first}"') < shown.index(f'id="comment-{second}"')
    assert '<span class="comment__author">Bob</span>' in shown
    assert '<span class="comment__author">Ada</span>' in shown
    assert "<p>Seen it <em>too</em>.</p>" in shown
    assert "<code>lpr -P tray2</code>" in shown
    assert "(edited)" not in shown
    assert (await stored(app, ticket.id)).comment_count == 2
    assert await changes(app, ticket.id) == [
        (history.COMMENT_ADDED, None, first),
        (history.COMMENT_ADDED, None, second),
    ]


async def test_with_htmx_the_answer_is_the_section_with_the_comment_and_an_empty_form(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    answer = await client.post(
        paths.ticket_comments_path(ticket.id), data={"body": "Smells of toner."}, headers=HTMX
    )

    assert answer.status_code == 200
    assert answer.text.startswith(f'<section id="{ids.COMMENTS}"')
    assert "<p>Smells of toner.</p>" in answer.text
    textarea = re.search(r"<textarea[^>]*>([^<]*)</textarea>", answer.text)
    assert textarea is not None and textarea.group(1) == ""
    assert " autofocus" in textarea.group(0)  # ready for the next one
    assert "Comment added." in answer.headers["hx-trigger-after-settle"]
    assert EVENT in answer.headers["hx-trigger-after-settle"]


async def test_a_visitor_is_asked_to_sign_in_and_nothing_changes(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    url = paths.ticket_comments_path(ticket.id)

    plain = await visitor.post(url, data={"body": "Hello"})
    htmx = await visitor.post(url, data={"body": "Hello"}, headers=HTMX)
    page = await visitor.get(paths.ticket_path(ticket.id))

    assert plain.status_code == 303 and plain.headers["location"].startswith(paths.login_path())
    assert htmx.status_code == 403
    assert await comments_of(app, ticket.id) == []
    assert "No comments yet." in listed(page.text)
    assert "to comment." in page.text  # the way to sign in, for visitors


async def test_an_unknown_ticket_is_a_404_and_nothing_is_written(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    other = "0" * 8 + "-0000-4000-8000-" + "0" * 12

    answer = await client.post(paths.ticket_comments_path(other), data={"body": "Hello"})
    source = await client.get(paths.comments_source_path(other), headers=HTMX)

    assert answer.status_code == 404 and source.status_code == 404
    assert await comments_of(app, other) == [] and await comments_of(app, ticket.id) == []


# -- hostile and invalid text ---------------------------------------------------------

HOSTILE = [
    pytest.param("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", id="script"),
    pytest.param("[click](javascript:alert(1))", "[click](javascript:alert(1))", id="js link"),
    pytest.param(
        '<img src=x onerror="alert(1)">',
        '<p>&lt;img src=x onerror="alert(1)"&gt;</p>',
        id="handler",
    ),
    pytest.param(
        '<a href="#" onclick="alert(1)">x</a>',
        '<p>&lt;a href="#" onclick="alert(1)"&gt;x&lt;/a&gt;</p>',
        id="onclick",
    ),
    pytest.param("[x](JaVaScRiPt:alert(1))", "[x](JaVaScRiPt:alert(1))", id="js link cased"),
    pytest.param("[x](data:text/html,<b>)", "<p>[x](data:text/html,&lt;b&gt;)</p>", id="data"),
]


@pytest.mark.parametrize(("body", "shown"), HOSTILE)
async def test_hostile_text_is_shown_as_text_never_as_markup(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient, body: str, shown: str
) -> None:
    ticket = await add_ticket(app)
    await comment(client, ticket.id, body)

    page = await visitor.get(paths.ticket_path(ticket.id))

    assert page.status_code == 200
    comments = listed(page.text)
    assert shown in comments
    assert executable(comments) == []


async def test_links_and_lists_are_kept_safe(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await comment(client, ticket.id, "- see [the log](https://example.com/log)\n- **then** retry")

    comments = listed((await visitor.get(paths.ticket_path(ticket.id))).text)

    assert '<a href="https://example.com/log" rel="nofollow noopener noreferrer ugc">' in comments
    assert "<li><strong>then</strong> retry</li>" in comments


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("", EMPTY, id="empty"),
        pytest.param(" \n\t ", EMPTY, id="blank"),
        pytest.param("a\x00b", CONTROL, id="NUL"),
        pytest.param("bell\x07", CONTROL, id="BEL"),
        pytest.param("esc\x1b[31m", CONTROL, id="ESC"),
        pytest.param("del\x7f", CONTROL, id="DEL"),
        pytest.param(
            "a" * (COMMENT_MAX + 1),
            "A comment is at most 10,000 characters (10,001 given).",
            id="10,001",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
async def test_invalid_text_is_refused_with_its_message_beside_the_field(
    app: Starlette, client: httpx.AsyncClient, body: str, message: str, htmx: bool
) -> None:
    ticket = await add_ticket(app)
    before = await client.get(paths.ticket_path(ticket.id))

    answer = await client.post(
        paths.ticket_comments_path(ticket.id), data={"body": body}, headers=HTMX if htmx else {}
    )

    assert answer.status_code == 422
    error = f'<small id="{ids.field_error(ids.COMMENT_BODY)}" class="field-error">{message}</small>'
    assert error in answer.text
    assert 'aria-invalid="true"' in answer.text
    if htmx:
        assert answer.text.startswith(f'<section id="{ids.COMMENTS}"')
    else:
        assert answer.text.startswith("<!doctype html>")
    assert await comments_of(app, ticket.id) == []
    assert (await stored(app, ticket.id)).comment_count == 0
    assert await changes(app, ticket.id) == []
    again = await client.get(paths.ticket_path(ticket.id))
    assert again.headers["etag"] == before.headers["etag"]  # nothing invalidated


async def test_ten_thousand_characters_are_taken_and_line_breaks_count_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    body = "\r\n".join(["x" * 99] * 100)  # 9,900 + 99 line breaks, sent as CRLF

    longest = await comment(client, ticket.id, "a" * COMMENT_MAX)
    lines = await comment(client, ticket.id, body + "y")

    bodies = {c.id: c.body for c in await comments_of(app, ticket.id)}
    assert len(bodies[longest]) == COMMENT_MAX
    assert bodies[lines] == body.replace("\r\n", "\n") + "y"


# -- editing and deleting -------------------------------------------------------------


async def test_the_author_edits_their_comment_on_a_page_of_its_own(
    app: Starlette, bob: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Tray 2.")

    form = await bob.get(paths.comment_edit_path(ticket.id, made))
    saved = await bob.post(paths.comment_update_path(ticket.id, made), data={"body": "Tray *3*."})

    assert form.status_code == 200 and ">Tray 2.</textarea>" in form.text
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{paths.ticket_path(ticket.id)}#comment-{made}"
    comments = listed((await visitor.get(paths.ticket_path(ticket.id))).text)
    assert "<p>Tray <em>3</em>.</p>" in comments and "(edited)" in comments


async def test_an_edit_with_htmx_goes_back_to_the_ticket_with_a_notice(
    app: Starlette, bob: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Tray 2.")

    saved = await bob.post(
        paths.comment_update_path(ticket.id, made), data={"body": "Tray 3."}, headers=HTMX
    )
    refused = await bob.post(
        paths.comment_update_path(ticket.id, made), data={"body": "\x00"}, headers=HTMX
    )

    assert saved.status_code == 200
    assert saved.headers["hx-redirect"] == f"{paths.ticket_path(ticket.id)}#comment-{made}"
    assert "Comment saved." in saved.headers["hx-trigger"]
    assert refused.status_code == 422 and CONTROL in refused.text
    assert "<html" not in refused.text  # the page's main part, for #main
    assert [c.body for c in await comments_of(app, ticket.id)] == ["Tray 3."]


async def test_the_author_deletes_their_comment_and_the_count_follows(
    app: Starlette, bob: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    kept = await comment(bob, ticket.id, "Keep me.")
    gone = await comment(bob, ticket.id, "Delete me.")

    answer = await bob.post(paths.comment_delete_path(ticket.id, gone), headers=HTMX)

    assert answer.status_code == 200
    assert answer.text == ""  # the comment leaves where it is listed; the rest is live
    notice = json.loads(answer.headers["hx-trigger-after-settle"])[EVENT]
    assert notice == {
        "message": "Comment deleted.",
        "undo": paths.comment_restore_path(ticket.id, gone),
        "subject": ids.comment(gone),
    }
    assert [c.id for c in await comments_of(app, ticket.id)] == [kept]
    assert (await stored(app, ticket.id)).comment_count == 1
    assert (await changes(app, ticket.id))[-1] == (history.COMMENT_REMOVED, gone, None)
    plain = await bob.post(paths.comment_delete_path(ticket.id, kept))
    assert plain.status_code == 303
    assert plain.headers["location"] == f"{paths.ticket_path(ticket.id)}#{ids.COMMENTS}"
    assert (await stored(app, ticket.id)).comment_count == 0


async def test_an_admin_edits_and_deletes_anyones_comment(
    app: Starlette, client: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Bob's.")

    page = await client.get(paths.comment_edit_path(ticket.id, made))
    edited = await client.post(paths.comment_update_path(ticket.id, made), data={"body": "Ada's."})
    deleted = await client.post(paths.comment_delete_path(ticket.id, made))

    assert (page.status_code, edited.status_code, deleted.status_code) == (200, 303, 303)
    assert await comments_of(app, ticket.id) == []


async def test_others_are_refused_with_a_403_and_nothing_changes(
    app: Starlette, bob: httpx.AsyncClient, cy: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Bob's.")

    page = await cy.get(paths.comment_edit_path(ticket.id, made))
    edited = await cy.post(paths.comment_update_path(ticket.id, made), data={"body": "Cy's."})
    deleted = await cy.post(paths.comment_delete_path(ticket.id, made), headers=HTMX)
    by_visitor = await visitor.post(paths.comment_delete_path(ticket.id, made))

    assert (page.status_code, edited.status_code, deleted.status_code) == (403, 403, 403)
    assert "Only the comment's author or an admin can change it." in deleted.text
    assert by_visitor.status_code == 303  # to sign in first
    assert [c.body for c in await comments_of(app, ticket.id)] == ["Bob's."]
    assert (await stored(app, ticket.id)).comment_count == 1


async def test_a_comment_is_reached_through_its_own_ticket_only(
    app: Starlette, bob: httpx.AsyncClient
) -> None:
    one, other = await add_ticket(app, title="One"), await add_ticket(app, title="Other")
    made = await comment(bob, one.id, "On one.")

    wrong = [
        await bob.get(paths.comment_edit_path(other.id, made)),
        await bob.post(paths.comment_update_path(other.id, made), data={"body": "x"}),
        await bob.post(paths.comment_delete_path(other.id, made)),
        await bob.post(paths.comment_delete_path(one.id, other.id)),  # no such comment
    ]

    assert [answer.status_code for answer in wrong] == [404, 404, 404, 404]
    assert [c.body for c in await comments_of(app, one.id)] == ["On one."]


async def test_only_the_author_and_admins_see_edit_and_delete(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    cy: httpx.AsyncClient,
    visitor: httpx.AsyncClient,
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Bob's.")
    edit = f'href="{paths.comment_edit_path(ticket.id, made)}"'

    seen = {
        name: (await who.get(paths.ticket_path(ticket.id))).text
        for name, who in [("ada", client), ("bob", bob), ("cy", cy), ("visitor", visitor)]
    }

    assert edit in seen["ada"] and edit in seen["bob"]
    assert edit not in seen["cy"] and edit not in seen["visitor"]
    assert "<esi:include" not in seen["cy"]


# -- the cache: precise, live, and through undo --------------------------------------


async def test_a_comment_moves_its_ticket_and_row_and_no_other(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    a, b = await add_ticket(app, title="Alpha"), await add_ticket(app, title="Beta")
    urls = [
        paths.ticket_path(a.id),
        paths.ticket_path(b.id),
        paths.row_source_path(a.id),
        paths.row_source_path(b.id),
        paths.comments_source_path(a.id),
        paths.comments_source_path(b.id),
    ]
    for url in urls:
        await visitor.get(url, headers=HTMX)
    await visitor.get(paths.tickets_path())

    await comment(client, a.id, "First!")

    after = {url: await visitor.get(url, headers=HTMX) for url in urls}
    assert [after[url].headers["x-cache"] for url in urls] == [
        "MISS",
        "HIT",
        "MISS",
        "HIT",
        "MISS",
        "HIT",
    ]
    assert "1 comment<" in after[paths.row_source_path(a.id)].text
    assert "comment" not in after[paths.row_source_path(b.id)].text
    listing = (await visitor.get(paths.tickets_path())).text
    assert listing.count("1 comment<") == 1
    await comment(client, a.id, "Second!")
    row = await visitor.get(paths.row_source_path(a.id), headers=HTMX)
    assert "2 comments<" in row.text


async def test_editing_a_comment_moves_its_list_not_the_row(
    app: Starlette, bob: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Tray 2.")
    urls = [paths.comments_source_path(ticket.id), paths.row_source_path(ticket.id)]
    for url in urls:
        await visitor.get(url, headers=HTMX)

    await bob.post(paths.comment_update_path(ticket.id, made), data={"body": "Tray 3."})

    after = [await visitor.get(url, headers=HTMX) for url in urls]
    assert [answer.headers["x-cache"] for answer in after] == ["MISS", "HIT"]
    assert "Tray 3." in after[0].text


async def test_the_list_is_live_by_the_tags_its_own_reads_collected(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    """The page's list names its source and its tags; the view's own tags leave
    them out (a comment's edit re-fetches the list alone)."""
    ticket = await add_ticket(app)
    await comment(client, ticket.id, "Hello")

    page = (await visitor.get(paths.ticket_path(ticket.id))).text

    found = re.search(
        r'<div id="comment-list" class="comment-list" data-live-tags="([^"]*)" '
        r'data-live-src="([^"]*)"',
        page,
    )
    assert found is not None
    tags, src = found.group(1).split(), found.group(2)
    assert src == paths.comments_source_path(ticket.id)
    assert any(ticket.id in tag and "comment" in tag for tag in tags), tags
    view = re.search(r'<div id="ticket-view" data-live-tags="([^"]*)"', page)
    assert view is not None and "comment" not in view.group(1)


async def test_a_rename_shows_in_the_comments_on_the_next_read(
    app: Starlette, bob: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await comment(bob, ticket.id, "Hi")
    await visitor.get(paths.comments_source_path(ticket.id), headers=HTMX)

    async with app.state.db.transaction() as session:
        person = (await session.exec(select(User).where(col(User.name) == "Bob"))).one()
        person.name = "Robert"
        session.add(person)

    again = await visitor.get(paths.comments_source_path(ticket.id), headers=HTMX)
    assert again.headers["x-cache"] == "MISS"
    assert '<span class="comment__author">Robert</span>' in again.text


async def test_a_deleted_ticket_keeps_its_comments_for_its_undo(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    made = await comment(client, ticket.id, "Still here?")

    deleted = await client.post(paths.ticket_delete_path(ticket.id))
    while_gone = await client.post(paths.ticket_comments_path(ticket.id), data={"body": "x"})
    source = await visitor.get(paths.comments_source_path(ticket.id), headers=HTMX)
    restored = await client.post(paths.ticket_restore_path(ticket.id))

    assert (deleted.status_code, while_gone.status_code, restored.status_code) == (303, 404, 303)
    assert source.status_code == 200 and "Still here?" in source.text
    assert (await stored(app, ticket.id)).comment_count == 1
    page = await visitor.get(paths.ticket_path(ticket.id))
    assert f'id="comment-{made}"' in page.text
    row = await visitor.get(paths.row_source_path(ticket.id), headers=HTMX)
    assert "1 comment<" in row.text


def test_the_check_for_markup_can_fail() -> None:
    assert executable('<p><a href=" JavaScript:alert(1)">x</a><img src=x onerror="y"></p>') == [
        "a href= JavaScript:alert(1)",
        "img",
        "img onerror=y",
    ]
    assert executable("<p>&lt;script&gt; <code>onclick=</code></p>") == []


async def test_a_long_discussion_shows_its_latest_comments_and_says_how_many_there_are(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    """Each comment shown is a tag of the list's entry (at most 128): a page
    never holds them all, whatever their number."""
    ticket = await add_ticket(app)
    async with app.state.db.transaction() as session:
        for n in range(SHOWN + 100):
            session.add(Comment(ticket_id=ticket.id, body=f"Reply {n}."))
    await comment(client, ticket.id, "The last word.")

    page = await visitor.get(paths.ticket_path(ticket.id))
    source = await visitor.get(paths.comments_source_path(ticket.id), headers=HTMX)

    assert (page.status_code, source.status_code) == (200, 200)
    shown = listed(page.text)
    assert shown.count('<li id="comment-') == SHOWN
    assert f"Showing the latest {SHOWN} of {SHOWN + 101} comments." in shown
    assert "The last word." in shown and f"Reply {SHOWN + 99}." in shown
    assert "<p>Reply 0.</p>" not in shown
