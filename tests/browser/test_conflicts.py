"""Two people edit one ticket at once in real Chromium: the second save is
refused with both values shown, and is resolved either way, in place with
htmx, and with a plain form post without JavaScript."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Server, edit_form


@pytest.fixture(autouse=True)
def a_409_is_expected(expected_errors: list[str]) -> None:
    """Chromium logs the refused save's 409, which is what these tests make."""
    expected_errors.append(r"status of 409 \(Conflict\)")


def someone_else_retitles(server: Server, ticket_id: str, title: str) -> None:
    with server.http() as http:
        answer = http.post(f"/tickets/{ticket_id}/update", data={"title": title})
    assert answer.status_code == 303, answer.text


def clash(page: Page, server: Server, title: str) -> str:
    """The page's edit form is opened; someone else retitles the ticket; this
    person saves a title and a description of their own: refused, shown both."""
    ticket_id = server.create_ticket(f"{title} at first", "As it was.")
    page.goto(f"/tickets/{ticket_id}")
    form = edit_form(page)
    form.get_by_label("Title").fill(f"{title} mine")
    form.get_by_label("Description").fill("Mine too.")
    someone_else_retitles(server, ticket_id, f"{title} theirs")
    # The page is live: it shows their title, and keeps what this person typed
    # (with the version it was typed over).
    expect(page.locator("#ticket-view h1")).to_have_text(f"{title} theirs")
    expect(form.get_by_label("Title")).to_have_value(f"{title} mine")
    form.get_by_role("button", name="Save changes").click()
    panel = page.locator("#edit-conflict")
    expect(panel).to_be_visible()
    expect(panel.locator(".conflict__value--theirs")).to_have_text(f"Yours{title} mine")
    expect(panel.locator(".conflict__value--current")).to_have_text(f"Current{title} theirs")
    return ticket_id


def test_keep_mine_in_place_with_htmx(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Clash")
    ticket_id = clash(page, server, title)
    expect(page.locator("#edit-conflict h2")).to_be_focused()  # in place: focus on what changed
    expect(page.locator("#notices")).to_contain_text("Not saved")

    page.get_by_role("button", name="Keep mine").click()

    expect(page.locator("#ticket-view h1")).to_have_text(f"{title} mine")
    expect(page.locator("#ticket-view .ticket-detail__content")).to_have_text("Mine too.")
    expect(page.locator("#notices")).to_contain_text("Changes saved")
    assert server.get(f"/tickets/{ticket_id}").text.count(f"{title} mine") >= 1


def test_take_the_current_one_in_place_with_htmx(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Clash")
    clash(page, server, title)

    page.get_by_role("button", name="Take the current one").click()

    expect(page.locator("#ticket-view h1")).to_have_text(f"{title} theirs")
    # Their other change, which clashed with nobody's, is saved.
    expect(page.locator("#ticket-view .ticket-detail__content")).to_have_text("Mine too.")
    history = page.locator("#ticket-history")
    expect(history).to_contain_text(
        f"changed the title from “{title} at first” to “{title} theirs”"
    )


@pytest.mark.parametrize("choice", ["Keep mine", "Take the current one"])
def test_a_clash_without_javascript(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str], choice: str
) -> None:
    page = new_page(java_script_enabled=False)
    title = unique("Plain")
    ticket_id = server.create_ticket(f"{title} at first", "As it was.")
    page.goto(f"/tickets/{ticket_id}")
    page.locator("#edit-ticket summary").click()
    someone_else_retitles(server, ticket_id, f"{title} theirs")
    page.get_by_label("Title").fill(f"{title} mine")
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.get_by_role("button", name="Save changes").click()
    assert posted.value.status == 409

    expect(page.locator("#edit-conflict")).to_be_visible()  # the page, its Edit open
    page.locator("#edit-conflict").get_by_role(
        "button" if choice == "Keep mine" else "link", name=choice
    ).click()

    wanted = f"{title} mine" if choice == "Keep mine" else f"{title} theirs"
    expect(page.locator("#ticket-view h1")).to_have_text(wanted)
