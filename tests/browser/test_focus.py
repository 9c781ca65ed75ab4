"""The focus rules (static/ui.js), each tested, and a keyboard that does it all.

1. after an inline delete: the neighbouring row, or the list's heading when empty;
2. after a status change: the select;
3. after a validation error: the first invalid field, described by its message;
4. after a navigation: the page's heading; after Load more: the first row it added;
5. a live refresh never moves focus, scroll or caret, and never loses a draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import Server, edit_form, new_ticket_form, row

FOCUSED_ID = "() => document.activeElement?.closest('[id]')?.id"


def search_page(page: Page, server: Server, tag: str, n: int) -> list[str]:
    """``n`` tickets whose titles hold ``tag``, shown alone by searching for it; newest first."""
    ids = [server.create_ticket(f"{tag} {i}") for i in range(n)]
    page.goto(f"/tickets?q={tag.split()[-1]}")
    expect(page.locator("#ticket-list .ticket-row")).to_have_count(min(n, 50))
    return ids[::-1]


def title_link(page: Page, ticket_id: str) -> Locator:
    return row(page, ticket_id).locator(".ticket-row__title")


# -- rule 1 ----------------------------------------------------------------------


def test_after_an_inline_delete_focus_goes_to_the_next_row_then_the_previous_then_the_heading(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    first, second = search_page(page, server, unique("Neighbours"), 2)

    row(page, first).get_by_role("button", name="Delete").click()
    expect(title_link(page, second)).to_be_focused()  # the next one

    row(page, second).get_by_role("button", name="Delete").click()
    expect(page.locator("#list-heading")).to_be_focused()  # the list is empty
    expect(page.locator(".list-empty")).to_be_visible()


def test_the_last_row_deleted_hands_focus_to_the_one_before(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    first, second = search_page(page, server, unique("Last row"), 2)

    row(page, second).get_by_role("button", name="Delete").click()

    expect(title_link(page, first)).to_be_focused()


# -- rule 2 ----------------------------------------------------------------------


def test_after_a_status_change_focus_stays_on_the_select(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    (ticket_id,) = search_page(page, server, unique("Keeps focus"), 1)
    select = row(page, ticket_id).locator("select[name=status]")
    select.focus()

    select.select_option("DONE")

    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-done\b"))
    expect(row(page, ticket_id).locator("select[name=status]")).to_be_focused()


# -- rule 3 ----------------------------------------------------------------------


UNPROCESSABLE = r"status of 422"  # the browser logs each 422 answer


def test_after_a_validation_error_focus_is_on_the_first_invalid_field(
    page: Page, expected_errors: list[str]
) -> None:
    expected_errors.append(UNPROCESSABLE)
    page.goto("/tickets")
    form = new_ticket_form(page)
    form.locator("textarea[name=content]").fill("A description but no title.")

    form.get_by_role("button", name="Create ticket").click()

    title = page.locator("#ticket-form input[name=title]")
    expect(title).to_be_focused()
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_accessible_description("Enter a title.")
    expect(page).to_have_url(re.compile(r"/tickets$"))


def test_an_invalid_edit_keeps_the_address_and_focuses_the_field(
    page: Page,
    server: Server,
    base_url: str,
    unique: Callable[[str], str],
    expected_errors: list[str],
) -> None:
    expected_errors.append(UNPROCESSABLE)
    ticket_id = server.create_ticket(unique("Edited badly"))
    page.goto(f"/tickets/{ticket_id}")
    content = edit_form(page).locator("textarea[name=content]")
    content.fill("   ")

    page.locator("#ticket-form").get_by_role("button", name="Save changes").click()

    content = page.locator("#ticket-form textarea[name=content]")
    expect(content).to_be_focused()
    expect(content).to_have_accessible_description("Enter a description.")
    expect(page).to_have_url(f"{base_url}/tickets/{ticket_id}")  # not .../update
    page.reload()
    expect(page.locator("h1")).to_be_visible()  # and a reload is the ticket's page


# -- rule 4 ----------------------------------------------------------------------


def test_after_a_navigation_focus_is_on_the_heading_and_the_title_follows(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Navigated to")
    ticket_id = server.create_ticket(title)
    page.goto("/tickets")
    expect(page).to_have_title("All tickets · Tickets, on-demand")

    title_link(page, ticket_id).click()

    expect(page.locator("#main h1")).to_have_text(title)
    expect(page.locator("#main h1")).to_be_focused()
    expect(page).to_have_title(re.compile(rf"^{re.escape(title)} · #\d+ · Tickets, on-demand$"))

    page.locator(".topbar").get_by_role("link", name="All tickets").click()
    expect(page.locator("#main h1")).to_have_text("Tickets")
    expect(page.locator("#main h1")).to_be_focused()
    expect(page).to_have_title("All tickets · Tickets, on-demand")

    page.locator("#ticket-counts a[data-status=DONE]").click()  # a filter is a navigation too
    expect(page).to_have_title("Done tickets · Tickets, on-demand")
    expect(page.locator("#main h1")).to_be_focused()


def test_after_load_more_focus_is_on_the_first_row_it_added(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ids = search_page(page, server, unique("Paged"), 52)

    page.get_by_role("link", name="Load more").click()

    expect(page.locator("#ticket-list .ticket-row")).to_have_count(52)
    expect(title_link(page, ids[50])).to_be_focused()


# -- rule 5 ----------------------------------------------------------------------


def test_a_live_refresh_keeps_focus_and_scroll_on_a_phone(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    tag = unique("Scrolled")
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    ids = search_page(page, server, tag, 40)
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    deep = title_link(page, ids[35])
    deep.focus()
    deep.scroll_into_view_if_needed()
    y_before = page.evaluate("window.scrollY")
    top_before = deep.evaluate("el => el.getBoundingClientRect().top")
    assert y_before > 1000

    # Another person adds a matching ticket: the page of rows is re-fetched and swapped.
    server.create_ticket(f"{tag} new")
    expect(page.locator("#ticket-list .ticket-row")).to_have_count(41)

    expect(title_link(page, ids[35])).to_be_focused()
    assert page.evaluate("window.scrollY") > 1000  # never thrown back to the top
    top_after = title_link(page, ids[35]).evaluate("el => el.getBoundingClientRect().top")
    assert abs(top_after - top_before) < 2  # the row stays where the reader was


def test_a_ticket_deleted_under_an_open_edit_keeps_the_draft(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Deleted while edited"))
    page.goto(f"/tickets/{ticket_id}")
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    content = edit_form(page).locator("textarea[name=content]")
    content.fill("Three paragraphs I would hate to lose")
    content.press("ArrowLeft")  # the caret is not at the end

    with server.http() as http:
        http.post(f"/tickets/{ticket_id}/delete")

    expect(page.locator(".ticket-gone h1")).to_have_text("This ticket was deleted")
    draft = page.locator(".ticket-gone [data-draft-slot] textarea[name=content]")
    expect(draft).to_have_value("Three paragraphs I would hate to lose")
    expect(draft).to_be_focused()
    expect(page.locator(".ticket-gone").get_by_role("button", name="Save changes")).to_be_disabled()
    expect(page.locator("#notices")).to_contain_text("This ticket was deleted by someone else.")


def test_a_focused_row_deleted_by_someone_else_hands_focus_to_its_neighbour(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    first, second = search_page(page, server, unique("Deleted elsewhere"), 2)
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    title_link(page, first).focus()

    with server.http() as http:
        http.post(f"/tickets/{first}/delete")

    expect(row(page, first)).to_have_count(0)
    expect(title_link(page, second)).to_be_focused()
