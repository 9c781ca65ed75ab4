"""Earlier comments and changes: a ticket's page shows the latest of each, and
"Show earlier" pages back to the first, a page at a time (with htmx from each
page's source, without JavaScript on a page of its own); pages meet without
overlap or gap while the latest part grows; a bad or foreign cursor is a 400."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from app import ids, paths
from app.models import Comment, Ticket, TicketChange
from app.tickets import comment_views, earlier, timeline
from app.tickets.filters import Cursor
from tests.helpers import HTMX, add_ticket

START = datetime(2026, 1, 1, tzinfo=UTC)


async def add_comments(app: Starlette, ticket: Ticket, count: int, *, first: int = 0) -> None:
    """``count`` comments by nobody, a second apart, written straight to the database."""
    async with app.state.db.transaction() as session:
        for n in range(first, first + count):
            at = START + timedelta(seconds=n)
            body = f"Remark {n}."
            session.add(Comment(ticket_id=ticket.id, body=body, created_at=at, updated_at=at))


async def add_changes(app: Starlette, ticket: Ticket, kinds: list[str]) -> None:
    async with app.state.db.transaction() as session:
        for n, kind in enumerate(kinds):
            old, new = (f"Title {n - 1}", f"Title {n}") if kind == "title" else ("OPEN", "DONE")
            session.add(TicketChange(ticket_id=ticket.id, version=1, kind=kind, old=old, new=new))


def remarks(markup: str) -> list[int]:
    return [int(n) for n in re.findall(r"Remark (\d+)\.", markup)]


def attribute(markup: str, element_id: str, name: str) -> str:
    found = re.search(rf'<div id="{re.escape(element_id)}"[^>]*\b{name}="([^"]*)"', markup)
    assert found is not None, markup[:2000]
    return html.unescape(found.group(1))


def show_earlier(markup: str) -> tuple[str, str] | None:
    """The "Show earlier" link of ``markup``'s first part: (href, hx-get)."""
    found = re.search(
        r'<p class="show-earlier"><a rel="prev" href="([^"]*)" hx-get="([^"]*)"', markup
    )
    return (html.unescape(found.group(1)), html.unescape(found.group(2))) if found else None


async def test_a_long_discussion_pages_back_to_its_first_comment(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    shown = comment_views.SHOWN
    await add_comments(app, ticket, 2 * shown + 5)

    page = (await client.get(paths.ticket_path(ticket.id))).text
    seen = [remarks(page)]
    link = show_earlier(page)
    while link is not None:
        href, source = link
        assert href.startswith(paths.comments_page_path(ticket.id) + "?before=")
        assert source.startswith(paths.comments_source_path(ticket.id) + "?before=")
        part = await client.get(source, headers=HTMX)
        assert part.status_code == 200
        assert part.headers["x-cache"] == "MISS"
        assert part.text.startswith(f'<div id="{ids.earlier("comments", "")}')
        seen.insert(0, remarks(part.text))
        link = show_earlier(part.text)

    assert [len(part) for part in seen] == [5, shown, shown]
    assert [n for part in seen for n in part] == list(range(2 * shown + 5))
    assert f"Showing the latest {shown} of {2 * shown + 5} comments." in page
    assert (await client.get(source, headers=HTMX)).headers["x-cache"] == "HIT"


async def test_without_javascript_earlier_comments_are_a_page_of_their_own(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app, title="Printer jams")
    await add_comments(app, ticket, comment_views.SHOWN + 3)
    link = show_earlier((await visitor.get(paths.ticket_path(ticket.id))).text)
    assert link is not None

    page = await visitor.get(link[0])

    assert page.status_code == 200
    assert "<h1" in page.text and "Earlier comments" in page.text and "Printer jams" in page.text
    assert remarks(page.text) == [0, 1, 2]
    assert show_earlier(page.text) is None
    assert f'href="{paths.ticket_path(ticket.id)}#{ids.COMMENTS}"' in page.text
    assert (await visitor.get(link[0])).headers["x-cache"] == "HIT"


async def test_the_latest_part_grows_from_where_it_started_so_earlier_pages_still_meet_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A tab's latest part is re-fetched from its first comment: new comments join
    it, none leaves it, so the earlier page loaded above neither overlaps nor
    leaves a gap; an action's answer keeps that start when the tab sends it."""
    ticket = await add_ticket(app)
    shown = comment_views.SHOWN
    await add_comments(app, ticket, shown + 10)
    page = (await client.get(paths.ticket_path(ticket.id))).text
    source = attribute(page, ids.COMMENT_LIST, "data-live-src")
    link = show_earlier(page)
    assert link is not None and "since=" in source

    for n in range(3):
        posted = await client.post(
            paths.ticket_comments_path(ticket.id),
            data={"body": f"Remark {1000 + n}.", "since": parse_since(source)},
            headers=HTMX,
        )
        assert posted.status_code == 200
    refreshed = (await client.get(source, headers=HTMX)).text
    earlier_part = (await client.get(link[1], headers=HTMX)).text

    shown_now = remarks(refreshed)
    assert shown_now == [*range(10, shown + 10), 1000, 1001, 1002]
    assert remarks(earlier_part) == list(range(10))
    assert show_earlier(refreshed) == link  # the same page before it, already loaded
    assert remarks(posted.text) == shown_now  # the answer is what the refresh shows
    fresh = remarks((await client.get(paths.ticket_path(ticket.id))).text)
    assert fresh == [*range(13, shown + 10), 1000, 1001, 1002]  # a new page: the latest


def parse_since(source: str) -> str:
    return dict(httpx.URL(source).params)["since"]


async def test_a_latest_part_that_grew_past_its_bound_starts_again_from_the_latest(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(earlier, "MAX_STRETCH", 5)
    monkeypatch.setattr(comment_views, "SHOWN", 3)
    ticket = await add_ticket(app)
    await add_comments(app, ticket, 4)
    page = (await client.get(paths.ticket_path(ticket.id))).text
    source = attribute(page, ids.COMMENT_LIST, "data-live-src")
    assert remarks(page) == [1, 2, 3]

    await add_comments(app, ticket, 3, first=4)  # 1 to 6: six, past five
    again = (await client.get(source, headers=HTMX)).text

    assert remarks(again) == [4, 5, 6]
    assert attribute(again, ids.COMMENT_LIST, "data-live-src") != source
    link = show_earlier(again)
    assert link is not None
    assert remarks((await client.get(link[1], headers=HTMX)).text) == [1, 2, 3]


async def test_a_long_history_pages_back_to_its_first_change_and_its_latest_edit_reverts(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    shown = timeline.SHOWN
    await add_changes(app, ticket, ["title", *["status"] * (shown + 4)])

    page = (await client.get(paths.ticket_path(ticket.id))).text
    link = show_earlier(page)
    assert link is not None
    assert f"Showing the latest {shown} of {shown + 5} changes." in page
    assert link[0].startswith(paths.history_page_path(ticket.id) + "?before=")
    part = await client.get(link[1], headers=HTMX)
    no_script = await client.get(link[0])

    assert part.status_code == no_script.status_code == 200
    assert part.text.count('class="timeline__entry') == 5
    assert "changed the title from" in part.text
    # The ticket's latest title edit is on the earlier page: it can be reverted there.
    assert "timeline__revert" in part.text
    assert "Earlier changes" in no_script.text and "changed the title from" in no_script.text
    assert show_earlier(part.text) is None


async def test_an_earlier_edit_that_is_not_the_latest_cannot_be_reverted_there(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    await add_changes(app, ticket, ["title", *["status"] * timeline.SHOWN, "title"])
    link = show_earlier((await client.get(paths.ticket_path(ticket.id))).text)
    assert link is not None

    part = (await client.get(link[1], headers=HTMX)).text

    assert "changed the title from" in part and "timeline__revert" not in part


def cursor(kind: earlier.Kind, ticket_id: str, key: earlier.Key) -> str:
    return key.encode(kind, ticket_id)


COMMENT_KEY = earlier.Key("0b5e1c1e-3d3a-4c4e-9d1c-6b1a2f3e4d5c", START)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        pytest.param("comments", "not a cursor", id="garbage"),
        pytest.param("comments", "%00", id="nul"),
        pytest.param("comments", "x" * 5000, id="long"),
        pytest.param("comments", Cursor(START, "a" * 36).encode(), id="a list's cursor"),
        pytest.param("comments", "changes:7", id="a change's cursor"),
        pytest.param("comments", "other ticket", id="another ticket's cursor"),
        pytest.param("comments", "no id", id="no comment id"),
        pytest.param("changes", "comments", id="a comment's cursor"),
        pytest.param("changes", "changes:0", id="no change id"),
        pytest.param("changes", "changes:1234567890", id="a change id too long"),
    ],
)
@pytest.mark.parametrize("where", ["source", "page"])
@pytest.mark.parametrize("bound", ["before", "since"])
async def test_a_bad_or_foreign_cursor_is_a_400_that_says_so(
    app: Starlette, visitor: httpx.AsyncClient, kind: str, value: str, where: str, bound: str
) -> None:
    ticket = await add_ticket(app)
    other = await add_ticket(app)
    text = {
        "changes:7": cursor("changes", ticket.id, earlier.Key("7")),
        "changes:0": cursor("changes", ticket.id, earlier.Key("0")),
        "changes:1234567890": cursor("changes", ticket.id, earlier.Key("1234567890")),
        "comments": cursor("comments", ticket.id, COMMENT_KEY),
        "other ticket": cursor("comments", other.id, COMMENT_KEY),
        "no id": cursor("comments", ticket.id, earlier.Key("x", START)),
    }.get(value, value)
    if kind == "comments":
        url = (paths.comments_source_path if where == "source" else paths.comments_page_path)(
            ticket.id
        )
    else:
        url = (paths.timeline_source_path if where == "source" else paths.history_page_path)(
            ticket.id
        )

    for _ in range(2):  # and nothing kept: the second is refused as the first
        answer = await visitor.get(url, params={bound: text})
        assert answer.status_code == 400
        assert earlier.bad_cursor(kind) in answer.text  # type: ignore[arg-type]


async def test_the_cursors_of_a_stretch_are_canonical(app: Starlette) -> None:
    ticket = await add_ticket(app)
    key = earlier.Key.decode(cursor("comments", ticket.id, COMMENT_KEY), "comments", ticket.id)
    stretch = earlier.Stretch("comments", ticket.id, before=key, since=key)
    again = earlier.Stretch.parse(
        "comments", ticket.id, dict(httpx.QueryParams(stretch.canonical()))
    )
    assert again == stretch
    change = earlier.Key.decode(
        cursor("changes", ticket.id, earlier.Key("42")), "changes", ticket.id
    )
    assert change == earlier.Key("42")


async def test_comments_of_an_unknown_ticket_are_a_404(visitor: httpx.AsyncClient) -> None:
    nobody = "0b5e1c1e-3d3a-4c4e-9d1c-6b1a2f3e4d5c"
    assert (await visitor.get(paths.comments_page_path(nobody))).status_code == 404
    assert (await visitor.get(paths.history_page_path(nobody))).status_code == 404
