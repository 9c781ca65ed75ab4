"""Real headless Chromium, driven by Playwright (sync API), against the real server.

Set up by ``scripts/browser-deps`` (Debian's ``chromium`` and the ``playwright``
package; Playwright never downloads a browser of its own here).

The server is the one scripts/run starts (``harness.app_server.AppServer``), on a
free port of 127.0.0.1, over its own SQLite file; each test creates the tickets
it needs with plain HTTP POSTs. The server, Playwright and Chromium live for
this package only (``scope="package"``): Playwright's sync API marks its event
loop as running on this thread while it is started, which would break the
pytest-asyncio tests that run after these ones, so it is stopped first.

Screenshots go to ``test-artifacts/browser/`` (ignored by git), as does a
screenshot of the page of every failed test and the server's log.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        ViewportSize,
        sync_playwright,
    )

    from tests.browser.helpers import ARTIFACTS, DESKTOP, Server, running_server
except ImportError:
    # Collect only test_setup.py, which needs no Playwright and says what to run;
    # the rest of the test suite goes on.
    collect_ignore = [
        path.name
        for path in Path(__file__).parent.glob("test_*.py")
        if path.name != "test_setup.py"
    ]
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

CHROMIUM = "/usr/bin/chromium"
# Features Playwright turns off (its chromiumSwitches, in the version
# requirements.lock pins). Chromium keeps only the last --disable-features it
# is given, so ours below repeats them: test_chromium_switches.py fails if
# Playwright's list changes.
PLAYWRIGHTS_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Chromium 156 draws the address bar's suggestions with a page of its own,
# loaded in a renderer of its own for every window, so for every page the
# tests open (nobody types in that bar here): a quarter of the browser's CPU
# time in the accessibility tests (issue 25; 18.7 against 24.9 CPU-s).
UNUSED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxFullPopup", "WebUIOmniboxAimPopup")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=" + ",".join(PLAYWRIGHTS_DISABLED_FEATURES + UNUSED_FEATURES),
]
FAVICON = "/favicon.ico"


# --- the server -------------------------------------------------------------


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("browser")) as started:
        yield started


@pytest.fixture
def base_url(server: Server) -> str:
    return server.base_url


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("Printer on fire")`` -> ``"Printer on fire 1a2b3c4d"``: no clash between tests."""
    return lambda title: f"{title} {uuid.uuid4().hex[:8]}"


# --- the browser -------------------------------------------------------------


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not HAVE_PLAYWRIGHT:
        pytest.fail("Playwright is not installed: run `bash scripts/browser-deps`")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/browser-deps`")
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def expected_errors() -> list[str]:
    """Patterns of console errors a test causes on purpose (a request it makes fail)."""
    return []


ADMIN = "admin"  # new_page(session=ADMIN): the server's admin (the default)


@pytest.fixture(scope="package")
def kept_context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    """One context a worker keeps for the first page of each test that asks for no
    option but its size (most do), made clean again for each (``cleaned``).

    A context of its own for every page cost Chromium about 0.3 CPU-s more than
    a page in a kept one, its first load of a page 0.2 more (measured with the
    browser's process tree's CPU, issue 25); the suite opens a few hundred.
    """
    context = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def cleaned(context: BrowserContext, page: Page, origin: str) -> None:
    """Take ``context`` back to what a new one is, as far as a test could have
    moved it (``page`` is its only page): no cookies, nothing stored for the
    server's origin, nothing in the HTTP cache, online, no routes or
    permissions, so that no test sees what another left behind."""
    context.clear_cookies()
    context.clear_permissions()
    context.set_offline(False)
    context.unroute_all(behavior="ignoreErrors")
    cdp = context.new_cdp_session(page)
    try:
        cdp.send("Network.clearBrowserCache")
        cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    finally:
        cdp.detach()


@pytest.fixture
def new_page(
    browser: Browser,
    server: Server,
    kept_context: BrowserContext,
    request: pytest.FixtureRequest,
    expected_errors: list[str],
) -> Iterator[Callable[..., Page]]:
    """``new_page(session=..., **context_options)``: a page in a context of its own
    (desktop size, this server as base URL), signed in as the admin, or with the
    session token given, or as a visitor (``session=None``); watched: a script
    error or a failed load of a resource
    fails the test (unless it matches one of ``expected_errors``), and a failed test
    leaves a screenshot of each of its pages.

    The first page of a test that gives no option but ``viewport`` is opened in
    the worker's ``kept_context``, cleaned first; every other page gets a new
    context, so two pages of one test never share cookies or a cache, as before.

    The browser's own request for /favicon.ico is left to test_pages.py, so that
    its 404 fails one test rather than all of them.
    """
    contexts: list[BrowserContext] = []
    pages: list[Page] = []
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error" or message.location["url"].endswith(FAVICON):
            return
        if any(re.search(pattern, message.text) for pattern in expected_errors):
            return
        errors.append(f"console.error: {message.text} ({message.location['url']})")

    def make(session: str | None = ADMIN, **options: Any) -> Page:
        base_url = options.pop("base_url", server.base_url)
        viewport: ViewportSize = options.pop("viewport", DESKTOP)
        if options or base_url != server.base_url or kept_context in contexts:
            context = browser.new_context(base_url=base_url, viewport=viewport, **options)
            context.set_default_timeout(10_000)
            contexts.append(context)
            page = context.new_page()
        else:
            context = kept_context
            contexts.insert(0, context)  # its pages are closed, it is not
            page = context.new_page()
            page.set_viewport_size(viewport)
            cleaned(context, page, server.base_url)
        if session is not None:
            token = server.admin_session if session == ADMIN else session
            context.add_cookies([{"name": "session", "value": token, "url": base_url}])
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.on("console", on_console)
        pages.append(page)
        return page

    yield make
    for n, page in enumerate(pages):
        save_screenshot_on_failure(request.node, page, n)
    for context in contexts:
        if context is kept_context:
            for page in context.pages:  # the test's, and any it opened itself
                page.close()
        else:
            context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop-sized page (1280 x 800) on this server, signed in as its admin,
    watched as ``new_page`` says."""
    return new_page()


# --- failure screenshots -----------------------------------------------------

CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


def save_screenshot_on_failure(node: pytest.Item, page: Page, n: int) -> None:
    if not node.stash.get(CALL_FAILED, False) or page.is_closed():
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", node.name)
    page.screenshot(path=ARTIFACTS / f"failed-{name}{f'-{n}' if n else ''}.png", full_page=True)
