"""Live fragments: a change made in one tab shows in every other, without a reload,
by re-fetching only the fragments whose tags moved (static/live.js, GET /events)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.browser.helpers import (
    Server,
    accept_dialogs,
    edit_form,
    expect_counts,
    expect_same_document,
    expect_whole_page,
    mark_document,
    read_counts,
    row,
)

WITHIN_A_SECOND = 1_000  # ms, from the writer's answer
# After the expected re-fetches, how long a page is watched for any other request.
STRAGGLERS_MS = 300


def live_page(new_page: Callable[..., Page], path: str) -> Page:
    """A page on ``path`` whose stream is open: from now on it hears every change."""
    page = new_page()
    page.goto(path)
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    return page


def record_requests(page: Page) -> list[str]:
    """``"GET /fragments/counts HX"``: each request the page makes from now on."""
    seen: list[str] = []

    def record(request: Request) -> None:
        htmx = " HX" if request.headers.get("hx-request") == "true" else ""
        seen.append(f"{request.method} {urlsplit(request.url).path}{htmx}")

    page.on("request", record)
    return seen


def delete_inline(page: Page, ticket_id: str) -> None:
    with page.expect_response(
        lambda r: r.url.endswith(f"/tickets/{ticket_id}/delete") and r.request.method == "POST"
    ) as deleted:
        row(page, ticket_id).get_by_role("button", name="Delete").click()
    assert deleted.value.status == 200


def delete_elsewhere(server: Server, ticket_id: str) -> None:
    """Another user, with no browser: a plain form post."""
    with server.http() as http:
        assert http.post(f"/tickets/{ticket_id}/delete").status_code == 303


def test_a_delete_in_one_tab_removes_the_row_from_the_other_refetching_only_its_fragments(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    doomed = server.create_ticket(unique("Deleted in the other tab"))
    other = server.create_ticket(unique("Stays in both tabs"))
    acting = live_page(new_page, "/tickets")
    watching = live_page(new_page, "/tickets")
    accept_dialogs(acting)
    before = read_counts(watching)
    mark_document(watching)
    requests = record_requests(watching)

    delete_inline(acting, doomed)

    expect(row(watching, doomed)).to_have_count(0, timeout=WITHIN_A_SECOND)
    expect_counts(watching, {None: before[None] - 1, "OPEN": before["OPEN"] - 1})
    expect(row(watching, other)).to_have_count(1)
    expect_same_document(watching)
    watching.wait_for_timeout(STRAGGLERS_MS)
    assert sorted(requests) == ["GET /fragments/counts HX", "GET /fragments/tickets HX"]
    # The tab that deleted ends the same, its own swap and the re-fetch agreeing.
    expect(row(acting, doomed)).to_have_count(0)
    expect(acting.locator(f"#ticket-{other}")).to_have_count(1)
    expect_counts(acting, {None: before[None] - 1})


def test_a_ticket_open_in_one_tab_says_it_was_deleted_when_another_tab_deletes_it(
    new_page: Callable[..., Page], server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    title = unique("Open while deleted")
    ticket_id = server.create_ticket(title)
    watching = live_page(new_page, f"/tickets/{ticket_id}")
    acting = live_page(new_page, "/tickets")
    accept_dialogs(acting)
    mark_document(watching)
    requests = record_requests(watching)

    delete_inline(acting, ticket_id)

    notice = watching.locator("#ticket-view")
    expect(notice.get_by_role("heading", name="This ticket was deleted")).to_be_visible(
        timeout=WITHIN_A_SECOND
    )
    expect(watching.locator("#main").get_by_text(title)).to_have_count(0)
    expect(watching.locator("#ticket-form")).to_have_count(0)  # nothing left to edit
    expect_same_document(watching)
    watching.wait_for_timeout(STRAGGLERS_MS)
    # Each a 200: no console error. The ticket's timeline hears its delete too.
    assert sorted(requests) == [
        f"GET /fragments/tickets/{ticket_id} HX",
        f"GET /fragments/tickets/{ticket_id}/history HX",
    ]

    notice.get_by_role("link", name="Back to all tickets").click()
    expect(watching).to_have_url(f"{base_url}/tickets")
    expect_whole_page(watching)
    expect(watching.locator("#ticket-list")).to_have_count(1)
    expect(row(watching, ticket_id)).to_have_count(0)


def test_a_status_change_in_one_tab_updates_the_counts_in_the_others(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Status changed in the other tab"))
    acting = live_page(new_page, "/tickets")
    listing = live_page(new_page, "/tickets")
    home = live_page(new_page, "/")
    before = read_counts(listing)
    for page in (listing, home):
        mark_document(page)

    with acting.expect_response(lambda r: r.url.endswith(f"/tickets/{ticket_id}/update")):
        row(acting, ticket_id).locator("select[name=status]").select_option("DONE")

    expected = {
        None: before[None],
        "OPEN": before["OPEN"] - 1,
        "IN_PROGRESS": before["IN_PROGRESS"],
        "DONE": before["DONE"] + 1,
    }
    for page in (listing, home):
        expect_counts(page, expected)
        expect_same_document(page)
    expect(row(listing, ticket_id)).to_have_class(re.compile(r"\bstatus-done\b"))
    expect(row(listing, ticket_id).locator("select[name=status]")).to_have_value("DONE")


def test_a_ticket_page_follows_a_change_made_elsewhere_and_keeps_what_its_user_typed(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Edited in two tabs"))
    watching = live_page(new_page, f"/tickets/{ticket_id}")
    acting = live_page(new_page, "/tickets")
    mark_document(watching)
    content = edit_form(watching).locator("textarea[name=content]")
    content.fill("Half-written, not saved yet")

    row(acting, ticket_id).locator("select[name=status]").select_option("IN_PROGRESS")

    expect(watching.locator(".ticket-detail .badge")).to_have_text("In progress")
    expect(watching.locator("#ticket-form select[name=status]")).to_have_value("IN_PROGRESS")
    expect(content).to_have_value("Half-written, not saved yet")
    expect(content).to_be_focused()
    expect_same_document(watching)


def test_tabs_of_one_browser_share_one_stream_and_hand_it_over(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    """A browser opens six connections to a host at most: one stream for all its tabs."""
    first, second = (server.create_ticket(unique("Shared stream")) for _ in range(2))
    leader = live_page(new_page, "/tickets")
    follower = leader.context.new_page()  # same browser profile
    errors: list[str] = []
    follower.on("pageerror", lambda error: errors.append(str(error)))
    follower.on("console", lambda m: errors.append(m.text) if is_error(m) else None)
    requests = record_requests(follower)
    follower.goto("/tickets")
    expect(follower.locator("html[data-live=shared]")).to_have_count(1)

    delete_elsewhere(server, first)

    for page in (leader, follower):
        expect(row(page, first)).to_have_count(0)
    assert "GET /events" not in requests
    expect_streams(server, 1)

    leader.close()  # the follower takes the stream over
    expect(follower.locator("html[data-live=open]")).to_have_count(1)
    delete_elsewhere(server, second)
    expect(row(follower, second)).to_have_count(0)
    expect_streams(server, 1)
    follower.close()  # closing the last tab frees its subscription
    expect_streams(server, 0)
    assert errors == []


def expect_streams(server: Server, n: int, timeout: float = 5.0) -> None:
    """Wait until the server counts ``n`` open streams (a closed tab's takes a moment)."""
    deadline = time.monotonic() + timeout
    while (seen := streams_open(server)) != n:
        assert time.monotonic() < deadline, f"{seen} streams open, expected {n}"
        time.sleep(0.05)


def streams_open(server: Server) -> int:
    match = re.search(r"^events_subscribers (\S+)$", server.get("/metrics").text, re.MULTILINE)
    assert match, "no events_subscribers gauge in /metrics"
    return int(float(match[1]))


def is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"
