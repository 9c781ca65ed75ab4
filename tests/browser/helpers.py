"""Helpers shared by the browser tests (they need Playwright): the server, and
small helpers for pages."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Locator, Page, ViewportSize, expect

from app.settings import ROOT
from harness.app_server import AppServer
from harness.client import create_ticket, plain_client, sign_up

_ADDRESSES = itertools.count()  # where each sign-up comes from (Server.sign_up)

ARTIFACTS = ROOT / "test-artifacts" / "browser"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
STATUSES = ("OPEN", "IN_PROGRESS", "DONE")

# --- the server -------------------------------------------------------------


@dataclass
class Server:
    """The server, and its admin: the first account, made over HTTP when it starts."""

    base_url: str
    log: Path
    admin_session: str = ""

    def http(self, session: str | None = None) -> httpx.Client:
        """A plain HTTP client (no browser), signed in as the admin unless told whom."""
        client = plain_client(self.base_url)
        client.cookies.set("session", session or self.admin_session)
        return client

    def sign_up(self, name: str) -> str:
        """A new account (not an admin); its session token, for a browser or ``http()``.

        Each from an address of its own, as people sign up from theirs: the
        server believes loopback's ``X-Forwarded-For`` (``TRUSTED_PROXIES``),
        and its sign-up throttle counts by address.
        """
        n = next(_ADDRESSES)
        address = f"10.0.{n // 250}.{n % 250 + 1}"
        with plain_client(self.base_url, headers={"X-Forwarded-For": address}) as http:
            return sign_up(http, name=name)

    def create_ticket(
        self, title: str, content: str = "Made by a browser test.", session: str | None = None
    ) -> str:
        """Create a ticket over plain HTTP, as the admin unless told whom; return its id."""
        with self.http(session) as http:
            return create_ticket(http, title=title, content=content)

    def set_status(self, ticket_id: str, status: str) -> None:
        with self.http() as http:
            answer = http.post(f"/tickets/{ticket_id}/update", data={"status": status})
        assert answer.status_code == 303, answer.text

    def get(self, path: str) -> httpx.Response:
        with plain_client(self.base_url) as http:
            return http.get(path)

    def comment(self, ticket_id: str, *bodies: str, session: str | None = None) -> None:
        """Comment ``bodies`` on a ticket over plain HTTP, in order (as the admin unless told)."""
        with self.http(session) as http:
            for body in bodies:
                answer = http.post(f"/tickets/{ticket_id}/comments", data={"body": body})
                assert answer.status_code == 303, answer.text


@contextmanager
def running_server(directory: Path) -> Iterator[Server]:
    """Start the server over a new database in ``directory``; stop it on exit."""
    log = directory / "server.log"
    database = f"sqlite+aiosqlite:///{directory / 'browser.db'}"
    app = AppServer(log, env={"DATABASE_URL": database, "TRUSTED_PROXIES": "127.0.0.1"})
    try:
        app.start()
    except RuntimeError as exc:
        pytest.fail(f"{exc}:\n{log.read_text()}")
    try:
        with plain_client(app.base_url) as http:
            admin_session = sign_up(http, name="Ada")
        yield Server(app.base_url, log, admin_session)
    finally:
        app.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / f"server-{directory.name}.log")


# --- pages ------------------------------------------------------------------


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


def new_ticket_form(page: Page) -> Locator:
    """The list page's create form, opened: "New ticket" is a disclosure."""
    return _opened(page, "#new-ticket")


def edit_form(page: Page) -> Locator:
    """A ticket page's edit form, opened: "Edit" is a disclosure."""
    return _opened(page, "#edit-ticket")


def _opened(page: Page, disclosure: str) -> Locator:
    details = page.locator(disclosure)
    expect(details).to_be_visible()
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    form = page.locator("#ticket-form")
    expect(form).to_be_visible()
    return form
