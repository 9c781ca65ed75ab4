"""Every action answers: a notice when it worked, the server's truth and an alert
with Retry when it failed, a banner while offline, Undo after a delete, and no
control that sends twice."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from harness.app_server import AppServer
from harness.client import sign_up
from tests.browser.helpers import (
    Server,
    expect_counts,
    expect_same_document,
    mark_document,
    new_ticket_form,
    read_counts,
    row,
)

# What the browser and htmx log when a request fails on purpose.
FAILED_LOAD = r"Failed to load resource|htmx:sendError|htmx:afterRequest|ERR_|EventSource"
REFUSED = r"Failed to load resource|Response Status Error"


def is_post_to(path_end: str) -> Callable[[object], bool]:
    return lambda r: r.url.endswith(path_end) and r.request.method == "POST"  # type: ignore[attr-defined]


# -- failures -------------------------------------------------------------------


def test_a_failed_status_change_returns_to_the_servers_truth_and_retry_saves_it(
    page: Page, server: Server, unique: Callable[[str], str], expected_errors: list[str]
) -> None:
    expected_errors.append(FAILED_LOAD)
    title, other_title = unique("Failed save"), unique("Saved later")
    other = server.create_ticket(other_title)
    ticket_id = server.create_ticket(title)
    page.goto("/tickets")
    before = read_counts(page)
    select = row(page, ticket_id).locator("select[name=status]")
    page.route(f"**/tickets/{ticket_id}/update", lambda route: route.abort())

    select.select_option("IN_PROGRESS")

    alert = page.locator("#alerts .toast")
    expect(alert).to_contain_text(
        f"Could not change the status of “{title}”: the server cannot be reached."
    )
    expect(select).to_have_value("OPEN")  # back to what the server has
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-open\b"))
    expect_counts(page, before)
    assert server.get(f"/tickets/{ticket_id}").text.count("In progress</span>") == 0

    # A request that works after it (another row's status) ends the offline banner
    # but not the alert: this row's status change has still not happened.
    row(page, other).locator("select[name=status]").select_option("DONE")
    expect(page.locator("#notices")).to_contain_text(f"“{other_title}” is now Done.")
    expect(page.locator("#offline")).to_be_hidden()
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()

    page.unroute(f"**/tickets/{ticket_id}/update")
    with page.expect_response(is_post_to(f"/tickets/{ticket_id}/update")) as saved:
        alert.get_by_role("button", name="Retry").click()
    assert saved.value.status == 200
    expect(row(page, ticket_id).locator("select[name=status]")).to_have_value("IN_PROGRESS")
    expect(alert).to_have_count(0)
    expect(page.locator("#notices")).to_contain_text(f"“{title}” is now In progress.")


def test_a_failure_before_the_stream_first_opens_keeps_its_alert(
    page: Page, server: Server, unique: Callable[[str], str], expected_errors: list[str]
) -> None:
    """The stream's first open says the server is there, but resyncs nothing: the
    status change that failed just before it has still not happened."""
    expected_errors.append(FAILED_LOAD)
    ticket_id = server.create_ticket(unique("Failed first"))
    streams: list[Route] = []
    page.route("**/events*", lambda route: streams.append(route))  # held until the failure shows
    page.goto("/tickets")
    page.route(f"**/tickets/{ticket_id}/update", lambda route: route.abort())

    row(page, ticket_id).locator("select[name=status]").select_option("DONE")
    alert = page.locator("#alerts .toast")
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#offline")).to_be_visible()

    page.unroute("**/events*")
    for stream in streams:
        stream.continue_()
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    expect(page.locator("#offline")).to_be_hidden()
    expect(page.locator("#notices")).to_contain_text("Back online.")
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()


def test_a_failed_create_keeps_what_was_typed_and_says_so(
    page: Page, unique: Callable[[str], str], expected_errors: list[str]
) -> None:
    expected_errors.append(FAILED_LOAD)
    title = unique("Not lost")
    page.goto("/tickets")
    page.route(
        "**/tickets",
        lambda route: route.abort() if route.request.method == "POST" else route.fallback(),
    )
    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("Typed before the network went.")

    form.get_by_role("button", name="Create ticket").click()

    expect(page.locator("#alerts")).to_contain_text("Could not save: the server cannot be reached.")
    expect(form.locator("input[name=title]")).to_have_value(title)
    expect(form.get_by_role("button", name="Create ticket")).to_be_enabled()
    expect(page.locator("#offline")).to_be_visible()  # a request could not reach the server

    page.unroute("**/tickets")
    page.locator("#alerts").get_by_role("button", name="Retry").click()
    expect(page.locator("#ticket-list .ticket-row").first.locator("a")).to_have_text(title)
    expect(page.locator("#offline")).to_be_hidden()


def test_a_refused_action_says_why(
    page: Page, server: Server, unique: Callable[[str], str], expected_errors: list[str]
) -> None:
    """A delete of a ticket someone else deleted: the server's 404, in words."""
    expected_errors.extend([FAILED_LOAD, REFUSED])
    title = unique("Deleted meanwhile")
    ticket_id = server.create_ticket(title)
    # The stream would remove the row before the click: this page does not hear it.
    page.route("**/events*", lambda route: route.abort())
    page.goto("/tickets")
    with server.http() as http:
        http.post(f"/tickets/{ticket_id}/delete")

    row(page, ticket_id).get_by_role("button", name="Delete").click()

    expect(page.locator("#alerts")).to_contain_text(
        f"Could not delete “{title}”: No ticket has this id; it may have been deleted."
    )


# -- double submits and the last choice ----------------------------------------


def test_a_double_click_on_create_makes_one_ticket_and_no_error(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Double click")
    page.goto("/tickets")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("Clicked twice.")

    form.get_by_role("button", name="Create ticket").dblclick()

    expect(page.locator("#ticket-list .ticket-row").filter(has_text=title)).to_have_count(1)
    expect(page.locator("#notices")).to_contain_text(f"Ticket “{title}” created.")
    expect(form.locator(".field-error")).to_have_count(0)
    assert len(posts) == 1
    found = server.get(f"/tickets?q={title.split()[-1]}")
    assert found.text.count('class="ticket-row ') == 1


def test_a_click_on_the_form_a_create_just_emptied_sends_nothing(
    page: Page, unique: Callable[[str], str]
) -> None:
    """The second click of a double click that lands after the first one's answer
    (forced here: it waits for that answer) repeats it: nothing is sent, no error."""
    title = unique("Clicked again")
    page.goto("/tickets")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("Clicked twice, slowly.")
    create = form.get_by_role("button", name="Create ticket")

    create.click()
    expect(form.locator("input[name=title]")).to_have_value("")  # answered, and emptied
    create.click()

    expect(page.locator("#notices")).to_contain_text(f"Ticket “{title}” created.")
    expect(form.locator(".field-error")).to_have_count(0)
    assert len(posts) == 1


def test_a_double_click_on_delete_deletes_once_without_asking(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Delete twice"))
    page.goto("/tickets")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    row(page, ticket_id).get_by_role("button", name="Delete").dblclick()

    expect(row(page, ticket_id)).to_have_count(0)
    expect(page.locator("#alerts .toast")).to_have_count(0)
    assert posts == [f"{server.base_url}/tickets/{ticket_id}/delete"]
    assert dialogs == []


def test_a_status_chosen_again_mid_save_is_saved_last(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Changed twice"))
    page.goto("/tickets")
    held: list[Route] = []
    released: list[Route] = []
    routed: list[tuple[str, bool]] = []  # (what was sent, was the first one released by then)

    def hold_first(route: Route) -> None:
        routed.append((route.request.post_data or "", bool(released)))
        if not held:
            held.append(route)  # answered below, after the second choice
            return
        route.continue_()

    page.route(f"**/tickets/{ticket_id}/update", hold_first)
    select = row(page, ticket_id).locator("select[name=status]")

    with page.expect_request(lambda r: r.url.endswith("/update")):
        select.select_option("IN_PROGRESS")
    # Playwright's messages come in order: the first save's route, sent just after its
    # request, is handled before the answer to the next call.
    select.select_option("DONE")  # while the first save is in flight
    assert [sent for sent, _ in routed] == ["status=IN_PROGRESS"]
    released.append(held[0])
    held[0].continue_()

    expect(row(page, ticket_id).locator("select[name=status]")).to_have_value("DONE")
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-done\b"))
    # in the order chosen, and the second only once the first was let through
    assert routed == [("status=IN_PROGRESS", False), ("status=DONE", True)]
    assert "Done</span>" in server.get(f"/tickets/{ticket_id}").text


# -- undo -----------------------------------------------------------------------


def test_undo_after_an_inline_delete_puts_the_row_back_where_it_was(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    tag = unique("Undo")
    older, middle, newer = (server.create_ticket(f"{tag} {n}") for n in range(3))
    page.goto(f"/tickets?q={tag.split()[-1]}")
    mark_document(page)
    before = read_counts(page)
    expect(page.locator("#ticket-list .ticket-row")).to_have_count(3)

    row(page, middle).get_by_role("button", name="Delete").click()
    expect(row(page, middle)).to_have_count(0)
    expect_counts(page, {None: before[None] - 1})
    assert server.get(f"/tickets/{middle}").status_code == 404  # deleted for everyone at once

    page.locator("#notices").get_by_role("button", name="Undo").click()

    expect(row(page, middle).locator(".ticket-row__title")).to_be_focused()
    ids = page.locator("#ticket-list .ticket-row").evaluate_all("rows => rows.map(r => r.id)")
    assert ids == [f"ticket-{t}" for t in (newer, middle, older)]
    expect(row(page, middle).locator(".ticket-row__title")).to_be_focused()
    expect(page.locator("#notices")).to_contain_text(f"Ticket “{tag} 1” restored.")
    expect_counts(page, before)
    assert server.get(f"/tickets/{middle}").status_code == 200
    expect_same_document(page)


# -- offline ---------------------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[AppServer]:
    """A server of this test's own, which it may stop and start again (same port)."""
    app = AppServer(
        tmp_path / "server.log", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'own.db'}"}
    )
    app.start()
    try:
        yield app
    finally:
        app.stop()


def test_the_offline_banner_shows_while_the_server_is_down_and_the_page_resyncs(
    new_page: Callable[..., Page], own_server: AppServer, expected_errors: list[str]
) -> None:
    expected_errors.append(FAILED_LOAD)
    with httpx.Client(base_url=own_server.base_url, timeout=10) as http:
        session = sign_up(http)
    page = new_page(session=session, base_url=own_server.base_url)
    page.goto("/tickets")
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    banner = page.locator("#offline")
    expect(banner).to_be_hidden()

    own_server.stop()
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile("You are offline"))

    own_server.start()
    with httpx.Client(base_url=own_server.base_url, timeout=10) as http:
        http.cookies.set("session", session)
        made = http.post("/tickets", data={"title": "Made while the page was away", "content": "x"})
        assert made.status_code == 303 and made.headers["location"] == "/tickets"
    expect(banner).to_be_hidden(timeout=15_000)  # the stream retries every 2 s
    expect(page.locator("#notices")).to_contain_text("Back online.")
    # Everything on the page was fetched again: the new ticket shows.
    made = page.locator("#ticket-list").get_by_role("link", name="Made while the page was away")
    expect(made).to_have_count(1)
    expect_counts(page, {None: 1})


# -- loading ---------------------------------------------------------------------


def test_a_slow_request_shows_it_is_busy_and_its_control_cannot_be_used_again(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Slow network")
    page.goto("/tickets")
    held: list[Route] = []
    page.route(
        "**/tickets",
        lambda route: held.append(route) if route.request.method == "POST" else route.fallback(),
    )
    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("Sent over a slow line.")

    form.get_by_role("button", name="Create ticket").click()

    expect(form.get_by_role("button", name="Create ticket")).to_be_disabled()
    expect(page.locator("#list-page-first")).to_have_attribute("aria-busy", "true")
    expect(page.locator("html.is-loading")).to_have_count(1)  # the bar at the top
    held[0].continue_()
    expect(page.locator("#ticket-list .ticket-row").first.locator("a")).to_have_text(title)
    expect(form.get_by_role("button", name="Create ticket")).to_be_enabled()
    expect(page.locator("[aria-busy]")).to_have_count(0)
    expect(page.locator("html.is-loading")).to_have_count(0)
