"""The Content-Security-Policy holds in a real browser: htmx and the app's scripts
work under it, and nothing they do is refused (every violation is caught here,
both as the DOM's ``securitypolicyviolation`` event and in the console)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.helpers import Server, new_ticket_form, row

# Runs before any of the page's own scripts (Playwright's init scripts are not
# subject to the page's policy), so it sees every refusal from the first byte.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective}: ${event.blockedURI} ${event.sample}`);
});
"""


class Watched:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__violations")
        return found + self.console


@pytest.fixture
def expected_errors() -> list[str]:
    """Refusals are reported by ``Watched`` (the self-check causes one on purpose),
    and the 404 page is visited on purpose."""
    return ["Content Security Policy", "status of 404"]


def test_pages_and_htmx_run_under_the_policy_without_a_violation(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    watched = Watched(page)
    ticket_id = server.create_ticket(unique("Under the policy"))
    page.goto("/")
    assert page.evaluate("document.documentElement.classList.contains('js')")  # the hashed one
    page.get_by_role("link", name="All tickets").first.click()  # a boosted navigation
    expect(row(page, ticket_id)).to_have_count(1)
    assert page.evaluate("typeof htmx") == "object"

    title = unique("Created under the policy")
    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("No inline code needed.")
    form.get_by_role("button", name="Create ticket").click()
    expect(page.locator("#ticket-list")).to_contain_text(title)
    expect(form.locator("input[name=title]")).to_have_value("")  # cleared by ui.js, not hx-on

    page.get_by_role("searchbox").fill(title.split()[-1])  # search as you type
    expect(page.locator("#ticket-list li.ticket-row")).to_have_count(1)
    page.goto(f"/tickets/{ticket_id}")
    page.goto("/login")
    page.goto("/tickets/no-such-ticket")
    page.goto("/admin/cache")  # the charts: a script loaded on demand, styles set by it
    expect(page.locator("[data-chart=bytes] canvas")).to_have_count(1)

    assert watched.violations() == []


def test_the_watch_sees_a_violation(page: Page) -> None:
    watched = Watched(page)
    page.goto("/")
    page.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "window.__ran = true";
        document.head.append(script);
    }"""
    )

    page.wait_for_function("window.__violations.length > 0")  # the event comes as a task
    assert page.evaluate("window.__ran === undefined")
    assert any("script-src" in found for found in watched.violations())
