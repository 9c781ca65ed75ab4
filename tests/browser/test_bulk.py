"""Bulk actions in a browser: rows selected by checkbox, shift-click and the `x`
key, one action for all of them (static/bulk.js), answered in place with a
notice, undone at once, and seen live in another tab; without JavaScript too."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import Server, expect_same_document, mark_document, row

WITHIN_A_SECOND = 1_000  # ms


def pick(page: Page, ticket_id: str) -> Locator:
    return row(page, ticket_id).locator(".ticket-row__pick input")


def bar(page: Page) -> Locator:
    return page.locator("#bulk")


def listed(
    page: Page, server: Server, unique: Callable[[str], str], count: int
) -> tuple[str, list[str]]:
    """``count`` new tickets, alone on the list page (a search for their tag),
    newest first as the list shows them."""
    tag = unique("Bulk")
    made = [server.create_ticket(f"{tag} {n}") for n in range(count)]
    page.goto(f"/tickets?q={tag.split()[-1]}")
    expect(page.locator("#ticket-list .ticket-row")).to_have_count(count)
    return tag, list(reversed(made))


def test_checkboxes_shift_click_and_select_all_make_the_selection_the_bar_counts(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    _, shown = listed(page, server, unique, 5)
    expect(bar(page)).to_be_hidden()
    expect(pick(page, shown[0])).to_have_accessible_name(re.compile(r"^Select #\d+ Bulk "))

    pick(page, shown[0]).click()
    expect(bar(page)).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    pick(page, shown[3]).click(modifiers=["Shift"])  # the range from the last one clicked
    expect(page.locator("#bulk-count")).to_have_text("4 selected")
    for ticket_id in shown[:4]:
        expect(pick(page, ticket_id)).to_be_checked()
    expect(pick(page, shown[4])).not_to_be_checked()
    expect(page.locator("#select-all")).to_have_js_property("indeterminate", True)

    pick(page, shown[1]).click(modifiers=["Shift"])  # back down: 2 to 4 cleared
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    page.get_by_label("Select all shown").check()
    expect(page.locator("#bulk-count")).to_have_text("5 selected")

    bar(page).get_by_role("button", name="Clear selection").click()
    expect(bar(page)).to_be_hidden()
    expect(page.locator("#list-heading")).to_be_focused()
    for ticket_id in shown:
        expect(pick(page, ticket_id)).not_to_be_checked()


def test_x_selects_the_row_in_focus_from_the_keyboard(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    _, shown = listed(page, server, unique, 3)
    page.locator("#list-heading").focus()

    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")

    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    expect(pick(page, shown[0])).to_be_checked()
    expect(pick(page, shown[1])).not_to_be_checked()
    expect(pick(page, shown[2])).to_be_checked()
    page.keyboard.press("x")  # again: out of the selection
    expect(pick(page, shown[2])).not_to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("1 selected")


def test_a_bulk_status_changes_the_rows_in_place_and_another_tab_sees_it_live(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    acting = new_page()
    _, shown = listed(acting, server, unique, 3)
    watching = new_page()
    watching.goto(acting.url)
    expect(watching.locator("html[data-live=open]")).to_have_count(1)
    mark_document(acting)
    mark_document(watching)

    pick(acting, shown[0]).click()
    pick(acting, shown[2]).click()
    bar(acting).get_by_label("Status for the selected tickets").select_option("DONE")
    button = bar(acting).get_by_role("button", name="Set status")
    with acting.expect_response(lambda r: r.url.endswith("/tickets/bulk")) as answered:
        button.click()

    assert answered.value.status == 200
    expect(acting.locator("#notices .toast")).to_contain_text("2 tickets now Done.")
    for ticket_id in (shown[0], shown[2]):
        expect(row(acting, ticket_id)).to_have_class(re.compile(r"\bstatus-done\b"))
        expect(pick(acting, ticket_id)).to_be_checked()  # still selected, for a next action
        expect(row(watching, ticket_id)).to_have_class(
            re.compile(r"\bstatus-done\b"), timeout=WITHIN_A_SECOND
        )
    expect(row(acting, shown[1])).to_have_class(re.compile(r"\bstatus-open\b"))
    expect(button).to_be_focused()
    expect_same_document(acting)
    expect_same_document(watching)


def test_the_bar_assigns_the_selection_to_anyone_who_signed_up_since_the_page_loaded(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    page = new_page()
    _, shown = listed(page, server, unique, 2)
    name = unique("Helper")
    server.sign_up(name)  # after the page (kept, the same for everyone) was loaded

    pick(page, shown[0]).click()
    pick(page, shown[1]).click()
    assignee = bar(page).get_by_label("Assignee for the selected tickets")
    expect(assignee.locator("option", has_text=name)).to_have_count(1)
    assignee.select_option(label=name)
    bar(page).get_by_role("button", name="Assign", exact=True).click()

    for ticket_id in shown:
        expect(row(page, ticket_id)).to_contain_text(f"assigned to {name}")


def test_a_bulk_delete_takes_the_rows_out_and_one_undo_puts_them_all_back(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    page = new_page()
    _, shown = listed(page, server, unique, 4)
    watching = new_page()
    watching.goto(page.url)
    expect(watching.locator("html[data-live=open]")).to_have_count(1)
    mark_document(page)

    pick(page, shown[0]).click()
    pick(page, shown[2]).click(modifiers=["Shift"])
    bar(page).get_by_role("button", name="Delete selected").click()

    for ticket_id in shown[:3]:
        expect(row(page, ticket_id)).to_have_count(0)
        expect(row(watching, ticket_id)).to_have_count(0, timeout=WITHIN_A_SECOND)
        assert server.get(f"/tickets/{ticket_id}").status_code == 404
    expect(row(page, shown[3]).locator(".ticket-row__title")).to_be_focused()
    expect(bar(page)).to_be_hidden()
    toast = page.locator("#notices .toast").filter(has_text="3 tickets deleted.")
    toast.get_by_role("button", name="Undo").click()

    expect(page.locator("#notices .toast").last).to_contain_text("3 tickets restored.")
    order = page.locator("#ticket-list .ticket-row")
    expect(order).to_have_count(4)
    assert [el.get_attribute("id") for el in order.all()] == [f"ticket-{t}" for t in shown]
    expect(row(page, shown[0]).locator(".ticket-row__title")).to_be_focused()
    expect(watching.locator("#ticket-list .ticket-row")).to_have_count(4, timeout=WITHIN_A_SECOND)
    for ticket_id in shown:
        assert server.get(f"/tickets/{ticket_id}").status_code == 200
    expect_same_document(page)


def test_a_refusal_names_the_rows_and_changes_nothing(
    new_page: Callable[..., Page],
    server: Server,
    unique: Callable[[str], str],
    expected_errors: list[str],
) -> None:
    expected_errors.append(r"403|Forbidden")  # the refusal this test makes
    bob = server.sign_up(unique("Bob").replace(" ", ""))
    tag = unique("Refused")
    adas = server.create_ticket(f"{tag} Ada's")
    bobs = server.create_ticket(f"{tag} Bob's", session=bob)
    page = new_page(session=bob)
    page.goto(f"/tickets?q={tag.split()[-1]}")

    pick(page, adas).click()
    pick(page, bobs).click()
    bar(page).get_by_role("button", name="Set status").click()

    alert = page.locator("#alerts .toast")
    expect(alert).to_contain_text("Could not change the selected tickets: You may not change #")
    expect(alert).to_contain_text(f"“{tag} Ada's”")
    expect(alert).not_to_contain_text("Bob's")
    expect(row(page, bobs)).to_have_class(re.compile(r"\bstatus-open\b"))
    expect(pick(page, adas)).to_be_checked()  # the selection stays, to be changed and tried again


def test_without_javascript_the_bar_posts_the_checked_rows_and_a_delete_asks_first(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    page = new_page(java_script_enabled=False)
    _, shown = listed(page, server, unique, 3)
    expect(bar(page)).to_be_visible()

    pick(page, shown[0]).check()
    pick(page, shown[1]).check()
    bar(page).get_by_label("Status for the selected tickets").select_option("IN_PROGRESS")
    bar(page).get_by_role("button", name="Set status").click()

    expect(row(page, shown[0])).to_have_class(re.compile(r"\bstatus-in_progress\b"))
    expect(row(page, shown[1])).to_have_class(re.compile(r"\bstatus-in_progress\b"))
    expect(row(page, shown[2])).to_have_class(re.compile(r"\bstatus-open\b"))
    assert "?q=" in page.url  # back on the list it was posted from

    pick(page, shown[2]).check()
    bar(page).get_by_role("button", name="Delete selected").click()
    expect(page.get_by_role("heading", name="Delete 1 ticket?")).to_be_visible()
    page.get_by_role("button", name="Delete 1 ticket").click()
    expect(page.locator("#ticket-list .ticket-row")).to_have_count(2)
    assert server.get(f"/tickets/{shown[2]}").status_code == 404
