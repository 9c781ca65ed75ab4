"""Earlier comments and changes in a browser: "Show earlier" puts the page before
above the latest part, in place, and moves focus to its first item; a live
refresh of the latest part (a comment from another tab) keeps it, without a
duplicate; without JavaScript the link opens that page; a comment's delete is
undone from its notice, the comment back where it was, focused."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from app.tickets.comment_views import SHOWN as SHOWN_COMMENTS
from app.tickets.timeline import SHOWN as SHOWN_CHANGES
from tests.browser.helpers import Server, expect_same_document, mark_document

EARLIER = 3  # comments before the latest part


def discussed(server: Server, title: str, count: int) -> str:
    ticket_id = server.create_ticket(title)
    server.comment(ticket_id, *(f"Remark {n}." for n in range(count)))
    return ticket_id


def test_earlier_comments_load_above_and_a_live_refresh_keeps_them(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = discussed(server, unique("Long talk"), SHOWN_COMMENTS + EARLIER)
    page = new_page()
    page.goto(f"/tickets/{ticket_id}")
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    mark_document(page)
    comments = page.locator("#comments .comment")
    expect(comments).to_have_count(SHOWN_COMMENTS)

    page.get_by_role("link", name="Show earlier comments").click()

    expect(comments).to_have_count(SHOWN_COMMENTS + EARLIER)
    expect(page.locator("#comments-earlier .comment").first).to_be_focused()
    expect(page.locator("#comments-earlier .comment").first).to_contain_text("Remark 0.")
    expect(page.get_by_role("link", name="Show earlier comments")).to_have_count(0)
    expect_same_document(page)
    # Another tab comments: the latest part is re-fetched; what was loaded stays, once.
    server.comment(ticket_id, "From elsewhere.")
    expect(page.locator("#comment-list .comment").last).to_contain_text("From elsewhere.")
    expect(comments).to_have_count(SHOWN_COMMENTS + EARLIER + 1)
    texts = comments.locator(".comment__body").all_inner_texts()
    assert texts == [f"Remark {n}." for n in range(SHOWN_COMMENTS + EARLIER)] + ["From elsewhere."]
    # Commenting here answers the section again: the earlier part is kept too.
    page.locator("#comment-body").fill("And from here.")
    page.locator("#comments").get_by_role("button", name="Comment").click()
    expect(comments).to_have_count(SHOWN_COMMENTS + EARLIER + 2)
    expect(page.locator("#comments-earlier .comment")).to_have_count(EARLIER)
    expect(page.get_by_role("link", name="Show earlier comments")).to_have_count(0)


def test_without_javascript_earlier_comments_open_on_a_page_of_their_own(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = discussed(server, unique("Long talk, no script"), SHOWN_COMMENTS + EARLIER)
    page = new_page(java_script_enabled=False)
    page.goto(f"/tickets/{ticket_id}")

    page.get_by_role("link", name="Show earlier comments").click()

    expect(page.get_by_role("heading", name="Earlier comments")).to_be_visible()
    expect(page.locator(".comment")).to_have_count(EARLIER)
    assert page.url.startswith(f"{server.base_url}/tickets/{ticket_id}/comments?before=")
    page.get_by_role("link", name="Back to the latest comments").click()
    expect(page.locator("#comment-list .comment")).to_have_count(SHOWN_COMMENTS)


def test_earlier_changes_load_above_the_latest_with_focus_on_the_first(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Busy history"))
    for n in range(SHOWN_CHANGES + 1):
        server.set_status(ticket_id, ("IN_PROGRESS", "OPEN")[n % 2])
    page.goto(f"/tickets/{ticket_id}")
    mark_document(page)
    entries = page.locator("#history .timeline__entry")
    expect(entries).to_have_count(SHOWN_CHANGES)

    page.get_by_role("link", name="Show earlier changes").click()

    expect(entries).to_have_count(SHOWN_CHANGES + 2)  # and its creation
    first = page.locator("#history-earlier .timeline__entry").first
    expect(first).to_contain_text("opened the ticket")
    expect(first).to_be_focused()
    expect(page.get_by_role("link", name="Show earlier changes")).to_have_count(0)
    expect_same_document(page)


def test_a_deleted_comment_comes_back_where_it_was_on_undo(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = discussed(server, unique("Undone"), 3)
    page.goto(f"/tickets/{ticket_id}")
    comments = page.locator("#comment-list .comment")
    expect(comments).to_have_count(3)
    middle = comments.nth(1)
    middle_id = middle.get_attribute("id")

    middle.get_by_role("button", name="Delete").click()
    expect(page.locator("#notices")).to_contain_text("Comment deleted.")
    expect(comments).to_have_count(2)
    page.locator("#notices").get_by_role("button", name="Undo").click()

    expect(page.locator("#notices")).to_contain_text("Comment restored.")
    expect(comments).to_have_count(3)
    expect(comments.nth(1)).to_have_attribute("id", middle_id or "")
    expect(comments.nth(1)).to_be_focused()
    expect(page.locator("#history")).to_contain_text("restored a comment")
