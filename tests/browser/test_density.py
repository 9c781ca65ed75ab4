"""A list people scan (issue 23): how many tickets the first screen shows on a
desk and on a phone, a top bar that stays one line, and the ticket page that
reads before it edits. The figures are written to
``test-artifacts/browser/density.txt`` as well as checked."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import ARTIFACTS, DESKTOP, Server

PHONE = {"width": 390, "height": 844}
ENOUGH = 40  # more tickets than any first screen holds
FULLY_SHOWN = """() => [...document.querySelectorAll('#ticket-list .ticket-row')]
    .filter((row) => row.getBoundingClientRect().bottom <= innerHeight).length"""


@pytest.fixture(scope="module")
def many(server: Server) -> None:
    for n in range(ENOUGH):
        server.create_ticket(f"Density row {n} with a title about as long as most are")


@pytest.mark.parametrize(
    ("viewport", "at_least"),
    [pytest.param(DESKTOP, 15, id="desk-1280x800"), pytest.param(PHONE, 5, id="phone-390x844")],
)
def test_the_first_screen_shows_enough_tickets(
    many: None, new_page: Callable[..., Page], viewport: dict[str, int], at_least: int
) -> None:
    page = new_page(viewport=viewport)
    page.goto("/tickets")
    expect(page.locator("#ticket-list .ticket-row").nth(ENOUGH - 1)).to_be_attached()

    shown = page.evaluate(FULLY_SHOWN)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "density.txt").open("a") as figures:
        print(f"{viewport['width']}x{viewport['height']}: {shown} tickets", file=figures)
    assert shown >= at_least


@pytest.mark.parametrize(
    "session", [pytest.param("admin", id="person"), pytest.param(None, id="visitor")]
)
def test_the_top_bar_stays_one_line_on_a_phone(
    new_page: Callable[..., Page], session: str | None
) -> None:
    page = new_page(viewport=PHONE, **({} if session else {"session": None}))
    page.goto("/tickets")
    items = page.locator(".topbar__inner > *, .account-bar > *:visible")
    boxes = [box for box in (items.nth(i).bounding_box() for i in range(items.count())) if box]
    centres = {round(box["y"] + box["height"] / 2) for box in boxes}
    assert max(centres) - min(centres) <= 4, boxes  # one line
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in boxes), boxes
    bar = page.locator(".topbar").bounding_box()
    assert bar is not None and bar["height"] <= 52
    if session:
        expect(page.locator(".account-bar__name strong")).to_be_visible()  # who is signed in


def test_new_ticket_is_a_button_that_opens_the_form_in_place(page: Page) -> None:
    page.goto("/tickets")
    form = page.locator("#ticket-form")
    expect(form).to_be_hidden()

    page.locator("#main").get_by_text("New ticket", exact=True).click()
    expect(form).to_be_visible()
    expect(page.locator("#new-title")).to_be_focused()
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()
    expect(page.locator("#new-ticket > summary")).to_be_focused()

    page.keyboard.press("c")
    expect(page.locator("#new-title")).to_be_focused()


def test_a_ticket_page_reads_first_and_edits_on_e(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Reads first")
    text = (
        "Steps:\n\n1. **Open** the tray\n2. See https://example.com/x\n\n<script>alert(1)</script>"
    )
    ticket_id = server.create_ticket(title, text)
    page.goto(f"/tickets/{ticket_id}")

    body = page.locator(".ticket-detail__content")
    expect(body.locator("ol > li")).to_have_count(2)
    expect(body.locator("strong")).to_have_text("Open")
    link = body.get_by_role("link", name="https://example.com/x")
    expect(link).to_have_attribute("rel", "nofollow noopener noreferrer ugc")
    expect(body).to_contain_text("<script>alert(1)</script>")  # text, never markup
    expect(page.locator("#edit-ticket #ticket-form")).to_be_hidden()
    created = page.locator(".ticket-detail__facts time").first
    expect(created).to_have_text("just now")  # relative...
    exact = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$")
    expect(created).to_have_attribute("title", exact)  # ...the exact one on hover

    page.keyboard.press("e")
    expect(page.locator("#edit-title")).to_be_focused()
    expect(page.locator("#edit-title")).to_have_value(title)
