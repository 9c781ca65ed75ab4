"""The context a worker keeps for its tests' pages (conftest.kept_context) is
clean again for each: nothing a test leaves there reaches the next."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import cleaned
from tests.browser.helpers import Server


def test_a_kept_context_keeps_nothing_a_test_left_in_it(
    kept_context: BrowserContext, server: Server
) -> None:
    left = kept_context.new_page()
    left.goto("/tickets")
    kept_context.add_cookies([{"name": "session", "value": "left", "url": server.base_url}])
    left.evaluate("localStorage.setItem('left', 'behind'); sessionStorage.setItem('left', '1')")
    kept_context.route("**/tickets", lambda route: route.abort())
    kept_context.set_offline(True)
    kept_context.grant_permissions(["clipboard-read"])
    left.close()

    page = kept_context.new_page()
    try:
        cleaned(kept_context, page, server.base_url)
        assert kept_context.cookies() == []
        page.goto("/tickets")  # neither offline nor routed away
        expect(page.locator("#main h1")).to_be_visible()
        assert page.evaluate("localStorage.length") == 0
        assert (
            page.evaluate(
                "navigator.permissions.query({name: 'clipboard-read'}).then(p => p.state)"
            )
            != "granted"
        )
    finally:
        page.close()
