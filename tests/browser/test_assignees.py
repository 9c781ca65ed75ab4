"""Assignees in the browser: a second tab receives an assignment live; the ticket
page's picker, Assign to me, and the list's filter and sort controls by keyboard."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import Server, row

WITHIN_A_SECOND = 1_000  # ms, from the writer's answer


def live_page(new_page: Callable[..., Page], path: str) -> Page:
    page = new_page()
    page.goto(path)
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    return page


def test_an_assignment_in_one_tab_shows_on_the_list_in_another(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Assigned elsewhere"))
    watching = live_page(new_page, "/tickets")
    expect(row(watching, ticket_id)).to_contain_text("Unassigned")
    acting = live_page(new_page, f"/tickets/{ticket_id}")

    acting.get_by_role("button", name="Assign to me").click()

    expect(acting.locator("#notices .toast")).to_contain_text("Changes saved.")
    expect(acting.locator(".assignee-line")).to_contain_text("Ada")
    expect(row(watching, ticket_id)).to_contain_text("assigned to Ada", timeout=WITHIN_A_SECOND)


def test_the_picker_assigns_by_keyboard_and_the_filter_finds_it(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Picked")
    ticket_id = server.create_ticket(title)
    server.sign_up(unique("Grace"))
    page = new_page()
    page.goto(f"/tickets/{ticket_id}")
    picker = page.get_by_label("Assign to")
    expect(picker).to_be_visible()

    picker.focus()
    picker.select_option(label="Ada")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Assign", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#notices .toast")).to_contain_text("Changes saved.")
    expect(page.locator(".assignee-line")).to_contain_text("Ada")
    page.goto("/tickets")
    page.get_by_label("Assignee", exact=True).select_option("me")  # her own list, at "me"
    expect(page).to_have_url(re.compile(r"assignee=me"))
    expect(row(page, ticket_id)).to_have_count(1)
    page.get_by_label("Assignee", exact=True).select_option("none")
    expect(row(page, ticket_id)).to_have_count(0)
    page.get_by_label("Sort").select_option("updated")
    expect(page).to_have_url(re.compile(r"sort=updated"))


def test_a_rename_keeps_focus_on_its_field_and_shows_the_new_name_in_the_header(
    new_page: Callable[..., Page],
    server: Server,
    unique: Callable[[str], str],
    expected_errors: list[str],
) -> None:
    expected_errors.append(r"status of 422")  # the refused name below, on purpose
    token = server.sign_up(unique("Renamer"))
    page = new_page(session=token)
    page.goto("/account")
    field = page.get_by_role("textbox", name="Name")
    new_name = unique("Renamed")

    field.fill(new_name)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page.locator("#notices .toast")).to_contain_text(f"Your name is now “{new_name}")
    expect(page.locator(".account-bar__name strong")).to_have_text(new_name)
    expect(field).to_be_focused()  # the form was replaced: focus goes back to its field
    field.fill("")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#account-form .field-error")).to_contain_text("1 to 80 characters")
    expect(page.get_by_role("textbox", name="Name")).to_be_focused()
