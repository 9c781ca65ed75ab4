"""What a person sees: pages load without a failed request, fit the screen, and are
saved as screenshots (test-artifacts/browser/, not committed) to look at."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.helpers import ARTIFACTS, DESKTOP, Server, expect_whole_page, running_server

TICKETS = [
    ("Checkout button does nothing on Safari", "Clicking 'Pay' on iOS 17 spins forever.", None),
    ("Invoice PDFs show the wrong VAT rate", "Austria prints 19% instead of 20%.", "IN_PROGRESS"),
    ("Add dark mode to the dashboard", "Several customers asked; follow the system.", None),
    ("Password reset emails arrive twice", "Enqueued by both the API and the worker.", "DONE"),
    (
        "A very long title: Supercalifragilisticexpialidocious-internationalisation-"
        "configuration-value-that-never-breaks and then some ordinary words after it",
        "A long unbroken word must wrap, not push the layout sideways.\n" * 3,
        None,
    ),
]
VIEWPORTS: dict[str, tuple[ViewportSize, bool]] = {
    "desktop": (DESKTOP, False),
    "phone": ({"width": 390, "height": 844}, True),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[str]]]:
    """A server of its own, with a few realistic tickets: stable screenshots."""
    with running_server(tmp_path_factory.mktemp("screenshots")) as server:
        ids = []
        for title, content, status in TICKETS:
            ids.append(server.create_ticket(title, content))
            if status:
                server.set_status(ids[-1], status)
        yield server, ids


@pytest.fixture(params=sorted(VIEWPORTS))
def sized_page(
    request: pytest.FixtureRequest,
    new_page: Callable[..., Page],
    demo: tuple[Server, list[str]],
) -> Page:
    viewport, mobile = VIEWPORTS[request.param]
    return new_page(
        base_url=demo[0].base_url, viewport=viewport, is_mobile=mobile, has_touch=mobile
    )


def expect_fits_the_width(page: Page) -> None:
    """Nothing in the page sticks out to the right: no horizontal scrolling."""
    width = page.evaluate("document.documentElement.clientWidth")
    overflowing = page.evaluate(
        """(width) => [...document.body.querySelectorAll('*')]
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + [...el.classList].map(c => '.' + c).join(''))""",
        width,
    )
    assert overflowing == [], f"wider than the {width}px viewport: {overflowing}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_list_page_fits_the_screen(sized_page: Page, request: pytest.FixtureRequest) -> None:
    page = sized_page
    page.goto("/tickets")
    expect_whole_page(page)
    expect(page.locator("#ticket-list li.ticket-row")).to_have_count(len(TICKETS))
    page.screenshot(path=artifact(request, "list"), full_page=True)
    expect_fits_the_width(page)


def test_ticket_page_fits_the_screen(
    sized_page: Page, demo: tuple[Server, list[str]], request: pytest.FixtureRequest
) -> None:
    page = sized_page
    page.goto(f"/tickets/{demo[1][1]}")  # in progress, with a badge
    expect_whole_page(page)
    expect(page.locator("h1")).to_have_text(TICKETS[1][0])
    page.screenshot(path=artifact(request, "ticket"), full_page=True)
    expect_fits_the_width(page)


def test_ticket_page_with_a_long_title_fits_the_screen(
    sized_page: Page, demo: tuple[Server, list[str]], request: pytest.FixtureRequest
) -> None:
    page = sized_page
    page.goto(f"/tickets/{demo[1][-1]}")
    expect(page.locator("h1")).to_have_text(TICKETS[-1][0])
    page.screenshot(path=artifact(request, "ticket-long-title"), full_page=True)
    expect_fits_the_width(page)


def test_the_layout_declares_an_icon_that_loads(page: Page) -> None:
    """Without ``<link rel=icon>`` Chromium asks for /favicon.ico on every page, which
    is a 404 here: an error in the console of every page. (That request is the
    browser's own, which Playwright does not report, so the declaration is checked.)"""
    page.goto("/tickets")
    icons = page.locator("head link[rel~=icon]")
    assert icons.count() == 1, "base.html has no <link rel=icon>: /favicon.ico is a 404"
    href = icons.get_attribute("href") or ""
    if not href.startswith("data:"):
        answer = page.request.get(href)
        assert answer.ok, f"{href}: {answer.status}"
        assert answer.headers["content-type"].startswith("image/")


def artifact(request: pytest.FixtureRequest, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}-{request.node.callspec.params['sized_page']}.png"
