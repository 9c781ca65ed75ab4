"""Small helpers shared by the browser tests (they need Playwright)."""

from __future__ import annotations

from playwright.sync_api import Dialog, Locator, Page, expect

STATUSES = ("OPEN", "IN_PROGRESS", "DONE")


def row(page: Page, ticket_id: str) -> Locator:
    return page.locator(f"#ticket-list li.ticket-row#ticket-{ticket_id}")


def count_of(page: Page, status: str | None = None) -> Locator:
    """The number shown for ``status`` (``None``: all tickets) in ``#ticket-counts``."""
    box = ".count--total" if status is None else f"[data-status={status}]"
    return page.locator(f"#ticket-counts {box} .count__n")


def read_counts(page: Page) -> dict[str | None, int]:
    return {status: int(count_of(page, status).inner_text()) for status in (None, *STATUSES)}


def expect_counts(page: Page, counts: dict[str | None, int]) -> None:
    """Wait until every number in ``#ticket-counts`` is the expected one."""
    for status, n in counts.items():
        expect(count_of(page, status)).to_have_text(str(n))


def accept_dialogs(page: Page) -> list[str]:
    """Accept every confirm() (hx-confirm); return the list their messages go to."""
    messages: list[str] = []

    def accept(dialog: Dialog) -> None:
        messages.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", accept)
    return messages


def mark_document(page: Page) -> None:
    """Tag this document: a navigation (a new document) loses the mark."""
    page.evaluate("window.__marker = 1")


def expect_same_document(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded or navigated away"


def expect_whole_page(page: Page) -> None:
    """One page with its layout: never a bare fragment, never a page inside a page."""
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.locator("main#main")).to_have_count(1)
    expect(page.locator("footer.footer")).to_have_count(1)
    expect(page.locator("link[rel=stylesheet][href^='/static/app.']")).to_have_count(1)
