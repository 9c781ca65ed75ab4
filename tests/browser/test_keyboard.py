"""Keyboard only: create, change a status, delete and undo, and the shortcuts
(c, /, j, k, u, ?), which never fire while typing in a field."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import Server, row


def posts_of(page: Page) -> list[str]:
    """The body of each POST the page makes from now on."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)
    return sent


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(page: Page) -> None:
    page.goto("/tickets")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")

    expect(page.locator("#main")).to_be_focused()


def test_create_a_ticket_with_the_keyboard_alone(page: Page, unique: Callable[[str], str]) -> None:
    title = unique("Typed only")
    page.goto("/tickets")

    page.keyboard.press("c")
    expect(page.locator("#new-title")).to_be_focused()
    page.keyboard.type(title)  # a "c" or "j" typed in a field is just a letter
    page.keyboard.press("Tab")
    page.keyboard.type("Nothing but keys: c / j k ?")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create ticket")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#ticket-list .ticket-row").first.locator("a")).to_have_text(title)
    expect(page.locator("#notices")).to_contain_text(f"Ticket “{title}” created.")
    expect(page.locator("#new-title")).to_be_focused()  # ready for the next one
    expect(page.locator("#new-title")).to_have_value("")
    expect(page.locator("#shortcuts")).not_to_be_visible()


def test_arrow_keys_look_through_statuses_and_only_enter_saves(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Keyboard status"))
    page.goto("/tickets")
    sent = posts_of(page)
    select = row(page, ticket_id).locator("select[name=status]")
    save = row(page, ticket_id).locator(".ticket-row__save")
    select.focus()
    expect(save).to_be_hidden()

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(select).to_have_value("DONE")
    expect(save).to_be_visible()  # a choice is pending, and says how to save it
    page.keyboard.press("Escape")
    expect(select).to_have_value("OPEN")  # back, nothing sent
    expect(save).to_be_hidden()
    page.keyboard.press("ArrowDown")
    assert sent == []

    with page.expect_response(lambda r: r.url.endswith(f"/tickets/{ticket_id}/update")):
        page.keyboard.press("Enter")
    assert sent == ["status=IN_PROGRESS"]
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-in_progress\b"))
    expect(row(page, ticket_id).locator("select[name=status]")).to_be_focused()


def test_delete_and_undo_with_the_keyboard(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    tag = unique("Keys delete")
    older, newer = (server.create_ticket(f"{tag} {n}") for n in range(2))
    page.goto(f"/tickets?q={tag.split()[-1]}")

    page.keyboard.press("j")
    expect(row(page, newer).locator(".ticket-row__title")).to_be_focused()
    page.keyboard.press("Tab")  # the status
    page.keyboard.press("Tab")  # Delete (Save is hidden until a choice is pending)
    expect(row(page, newer).get_by_role("button", name="Delete")).to_be_focused()
    page.keyboard.press("Enter")

    expect(row(page, newer)).to_have_count(0)
    expect(row(page, older).locator(".ticket-row__title")).to_be_focused()
    expect(page.locator("#notices").get_by_role("button", name="Undo")).to_be_visible()
    page.keyboard.press("u")
    expect(row(page, newer).locator(".ticket-row__title")).to_be_focused()
    assert server.get(f"/tickets/{newer}").status_code == 200


def test_shortcuts_move_through_the_list_and_open_their_help(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    tag = unique("Shortcut")
    first, second = reversed([server.create_ticket(f"{tag} {n}") for n in range(2)])
    page.goto(f"/tickets/{first}")

    page.keyboard.press("/")  # from another page: the list, and its search field
    expect(page.locator("#search-q")).to_be_focused()
    page.keyboard.type(tag.split()[-1])
    expect(page.locator("#ticket-list .ticket-row")).to_have_count(2)
    page.locator("#list-heading").focus()  # out of the field: shortcuts work again

    page.keyboard.press("j")
    expect(row(page, first).locator(".ticket-row__title")).to_be_focused()
    page.keyboard.press("j")
    expect(row(page, second).locator(".ticket-row__title")).to_be_focused()
    page.keyboard.press("k")
    expect(row(page, first).locator(".ticket-row__title")).to_be_focused()

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Undo the last delete")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row(page, first).locator(".ticket-row__title")).to_be_focused()  # back where it was

    page.goto(f"/tickets/{first}")
    page.keyboard.press("c")  # from another page: the list, and the new ticket's title
    expect(page.locator("#new-title")).to_be_focused()
