"""The list at scale in a browser: load more, filter cards, search as you type, live pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import Server, expect_same_document, mark_document

ROWS = "#ticket-list li.ticket-row"
WITHIN_A_SECOND = 1_000  # ms


def token() -> str:
    """A word no other test's tickets hold: a search for it shows only this test's."""
    return "t" + uuid.uuid4().hex[:10]


def live(page: Page) -> None:
    expect(page.locator("html[data-live=open], html[data-live=shared]")).to_have_count(1)


def test_load_more_appends_the_next_page_in_place(page: Page, server: Server) -> None:
    word = token()
    for n in range(55):
        server.create_ticket(f"Batch {word} number {n:02}")
    page.goto(f"/tickets?q={word}")
    expect(page.locator(ROWS)).to_have_count(50)
    expect(page.locator(ROWS).first).to_contain_text("number 54")  # newest first
    url = page.url
    mark_document(page)

    page.get_by_role("link", name="Load more").click()

    expect(page.locator(ROWS)).to_have_count(55)
    expect(page.locator(ROWS).last).to_contain_text("number 00")
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)  # the end
    assert page.url == url  # still the shareable address of the search
    expect_same_document(page)


def test_load_more_is_a_plain_link_without_javascript(
    new_page: Callable[..., Page], server: Server
) -> None:
    word = token()
    for n in range(52):
        server.create_ticket(f"Plain {word} {n:02}")
    page = new_page(java_script_enabled=False)
    page.goto(f"/tickets?q={word}")

    page.locator("a[rel=next]").click()

    expect(page.locator(ROWS)).to_have_count(2)
    assert "cursor=" in page.url


def test_a_count_card_filters_the_list_and_back_restores_it(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    done = server.create_ticket(unique("Filtered done"))
    server.set_status(done, "DONE")
    page.goto("/tickets")
    mark_document(page)

    page.locator("#ticket-counts [data-status=DONE]").click()

    expect(page).to_have_url(re.compile(r"/tickets\?status=DONE$"))
    card = page.locator("#ticket-counts [data-status=DONE]")
    expect(card).to_have_attribute("aria-current", "page")
    expect(page.locator(f"{ROWS}:not(.status-done)")).to_have_count(0)
    expect(page.locator(f"#ticket-{done}")).to_have_count(1)
    expect_same_document(page)  # a boosted navigation

    page.locator(f"#ticket-{done} a").click()
    expect(page.locator("#ticket-view h1")).to_be_visible()
    page.go_back()

    expect(page).to_have_url(re.compile(r"/tickets\?status=DONE$"))
    expect(page.locator(f"{ROWS}:not(.status-done)")).to_have_count(0)
    expect(page.locator("#ticket-counts [data-status=DONE]")).to_have_attribute(
        "aria-current", "page"
    )


def test_search_as_you_type_keeps_the_field_and_follows_in_the_address_bar(
    page: Page, server: Server
) -> None:
    word = token()
    wanted = server.create_ticket(f"Café crème {word}")
    server.create_ticket(f"Tea {token()}")
    page.goto("/tickets")
    mark_document(page)
    field = page.get_by_label("Search tickets")

    field.press_sequentially(f"CAFE {word[:6]}", delay=40)

    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(f"#ticket-{wanted}")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"q=CAFE(\+|%20){word[:6]}"))
    expect(field).to_be_focused()
    expect(field).to_have_value(f"CAFE {word[:6]}")
    expect_same_document(page)

    page.go_back()  # back to before the search: the whole list again
    expect(page.locator(ROWS)).not_to_have_count(1)


def test_a_second_tab_sees_a_new_ticket_that_matches_its_search(
    new_page: Callable[..., Page], server: Server
) -> None:
    word = token()
    server.create_ticket(f"First {word}")
    watching = new_page()
    watching.goto(f"/tickets?q={word}")
    live(watching)
    expect(watching.locator(ROWS)).to_have_count(1)

    matching = server.create_ticket(f"Second {word}")
    server.create_ticket(f"Unrelated {token()}")

    expect(watching.locator(ROWS).first).to_have_id(f"ticket-{matching}", timeout=WITHIN_A_SECOND)
    expect(watching.locator(ROWS)).to_have_count(2)


def test_a_change_to_one_row_refetches_that_row_alone(
    new_page: Callable[..., Page], server: Server
) -> None:
    word = token()
    ticket = server.create_ticket(f"Changing {word}")
    watching = new_page()
    watching.goto("/tickets")
    live(watching)
    fetched: list[str] = []
    watching.on("request", lambda r: fetched.append(r.url) if "/fragments/" in r.url else None)

    server.set_status(ticket, "IN_PROGRESS")

    expect(watching.locator(f"#ticket-{ticket}")).to_have_class(
        re.compile(r"\bstatus-in_progress\b"), timeout=WITHIN_A_SECOND
    )
    watching.wait_for_timeout(300)  # stragglers: any other fetch would show by now
    assert sorted(re.sub(r"\?.*", "", url.split("/fragments/")[1]) for url in fetched) == [
        "counts",
        f"tickets/{ticket}/row",
    ]
