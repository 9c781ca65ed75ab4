"""The switches the tests' Chromium runs with (conftest.CHROMIUM_ARGS) do
what they are there for."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.browser.conftest import PLAYWRIGHTS_DISABLED_FEATURES, UNUSED_FEATURES

PREFIX = "--disable-features="


def test_every_feature_playwright_turns_off_stays_off(browser: Browser) -> None:
    """Chromium keeps only the last --disable-features: ours, which must list
    all of Playwright's (the first, its own) as well as ours."""
    session = browser.new_browser_cdp_session()
    processes = session.send("SystemInfo.getProcessInfo")["processInfo"]
    session.detach()
    (pid,) = [process["id"] for process in processes if process["type"] == "browser"]
    # Chromium writes its arguments back as one line, spaces between them.
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode().replace("\0", " ").split()
    given = [arg.removeprefix(PREFIX).split(",") for arg in arguments if arg.startswith(PREFIX)]

    assert len(given) == 2, given
    playwrights, kept = given
    assert set(playwrights) == set(PLAYWRIGHTS_DISABLED_FEATURES), (
        "Playwright now turns off other features: make PLAYWRIGHTS_DISABLED_FEATURES "
        f"(tests/browser/conftest.py) {sorted(playwrights)}"
    )
    assert kept == [*PLAYWRIGHTS_DISABLED_FEATURES, *UNUSED_FEATURES]


def test_a_page_loads_no_address_bar_suggestions_page_beside_it(
    browser: Browser, page: Page
) -> None:
    """The renderer Chromium 156 starts for each window's address bar
    suggestions (a quarter of its CPU time in these tests) is not started."""
    page.goto("/tickets")
    session = browser.new_browser_cdp_session()
    targets = session.send("Target.getTargets")["targetInfos"]
    session.detach()

    assert [t["url"] for t in targets if t["type"] != "page"] == []
    assert any(t["url"].endswith("/tickets") for t in targets if t["type"] == "page")
