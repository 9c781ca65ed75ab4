"""Navigation: HX-Redirect after a delete, boosted links, and the back button."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, Request, expect

from tests.browser.helpers import (
    Server,
    accept_dialogs,
    expect_same_document,
    expect_whole_page,
    mark_document,
    row,
)


def open_ticket_by_link(page: Page, base_url: str, ticket_id: str, title: str) -> None:
    """From the list, click the ticket's link: a boosted navigation that swaps #main."""
    page.goto("/tickets")
    expect(row(page, ticket_id)).to_have_count(1)
    mark_document(page)
    with page.expect_request(
        lambda r: r.url == f"{base_url}/tickets/{ticket_id}" and r.method == "GET"
    ) as followed:
        row(page, ticket_id).get_by_role("link", name=title).click()
    expect(page).to_have_url(f"{base_url}/tickets/{ticket_id}")
    expect(page.locator("h1")).to_have_text(title)
    expect_whole_page(page)
    # Boosted: htmx fetched the fragment and swapped it in; the document stayed.
    assert followed.value.headers.get("hx-boosted") == "true"
    expect_same_document(page)


def expect_list_page(page: Page, base_url: str, ticket_id: str) -> None:
    expect(page).to_have_url(f"{base_url}/tickets")
    expect_whole_page(page)
    expect(page.locator("#ticket-list")).to_have_count(1)
    expect(page.locator("#ticket-counts")).to_have_count(1)
    expect(page.locator("#ticket-form")).to_have_count(1)
    expect(page.locator("h1")).to_have_text("Tickets")
    expect(row(page, ticket_id)).to_have_count(1)


def test_delete_on_the_ticket_page_redirects_to_the_list_without_the_ticket(
    page: Page, server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    title = unique("Deleted from its page")
    ticket_id = server.create_ticket(title)
    dialogs = accept_dialogs(page)
    # The list is rendered (and cached) with the ticket in it before the delete.
    open_ticket_by_link(page, base_url, ticket_id, title)

    with page.expect_response(
        lambda r: r.url.endswith(f"/tickets/{ticket_id}/delete") and r.request.method == "POST"
    ) as deleted:
        page.locator("#main").get_by_role("button", name="Delete", exact=True).click()

    assert deleted.value.status == 200
    assert deleted.value.headers.get("hx-redirect") == "/tickets"
    assert dialogs == []  # no confirm: an Undo instead
    expect(page).to_have_url(f"{base_url}/tickets")
    expect(page).to_have_title("All tickets · Tickets, on-demand")
    expect_whole_page(page)
    expect_same_document(page)  # loaded into the page, so the notice outlives it
    expect(page.locator("#ticket-list")).to_have_count(1)
    expect(page.locator(f"#ticket-{ticket_id}")).to_have_count(0)
    expect(page.locator("#ticket-list").get_by_text(title)).to_have_count(0)
    assert server.get(f"/tickets/{ticket_id}").status_code == 404
    expect(page.locator("#main h1")).to_be_focused()  # a navigation: the page's heading

    # Undo: the ticket is back, in the list on screen too (the event stream).
    page.locator("#notices").get_by_role("button", name="Undo").click()
    expect(page.locator("#notices")).to_contain_text(f"Ticket “{title}” restored.")
    expect(row(page, ticket_id)).to_have_count(1)
    assert server.get(f"/tickets/{ticket_id}").status_code == 200


def test_back_after_a_boosted_navigation_restores_the_whole_list_page(
    page: Page, server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    title = unique("Back button")
    ticket_id = server.create_ticket(title)
    open_ticket_by_link(page, base_url, ticket_id, title)

    page.go_back()
    expect_list_page(page, base_url, ticket_id)
    expect_same_document(page)  # restored by htmx from its history cache

    page.reload()
    expect_list_page(page, base_url, ticket_id)


def is_history_restore(request: Request) -> bool:
    return request.headers.get("hx-history-restore-request") == "true"


def test_back_with_the_history_cache_cleared_fetches_the_whole_list_page(
    page: Page, server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    title = unique("History miss")
    ticket_id = server.create_ticket(title)
    open_ticket_by_link(page, base_url, ticket_id, title)
    # htmx 2.0.11 keeps its history snapshots in sessionStorage (1.x: localStorage).
    page.evaluate(
        """() => {
            sessionStorage.removeItem("htmx-history-cache");
            localStorage.removeItem("htmx-history-cache");
        }"""
    )

    with page.expect_request(is_history_restore) as restore:
        page.go_back()

    assert restore.value.url == f"{base_url}/tickets"
    # historyRestoreAsHxRequest=false: the restore asks for the page, not the fragment.
    assert restore.value.headers.get("hx-request") is None
    expect_list_page(page, base_url, ticket_id)
    expect_same_document(page)

    page.reload()
    expect_list_page(page, base_url, ticket_id)


def test_back_into_a_boosted_url_from_another_document_shows_the_whole_page(
    page: Page, server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    """The browser's HTTP cache holds the fragment fetched for /tickets/<id>; coming
    back to that URL from another document must load the page (Vary: HX-Request)."""
    title = unique("Back from elsewhere")
    ticket_id = server.create_ticket(title)
    open_ticket_by_link(page, base_url, ticket_id, title)
    page.goto("/")  # a full load of another document
    expect(page.locator("h1")).to_have_text("Tickets, on-demand")

    page.go_back()
    expect(page).to_have_url(f"{base_url}/tickets/{ticket_id}")
    expect_whole_page(page)
    expect(page.locator("h1")).to_have_text(title)

    page.go_back()
    expect_list_page(page, base_url, ticket_id)
