"""Comments in a browser: a comment made in one tab shows in every other open
tab of its ticket; each action is answered (a notice, the message beside the
field, focus where the next step is); without JavaScript the forms still work."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import Server, expect_same_document, mark_document

REFUSED = "status of 422"  # the console's line for a form sent back with its message


def live_page(new_page: Callable[..., Page], path: str, **options: object) -> Page:
    """A page on ``path`` whose stream is open: from now on it hears every change."""
    page = new_page(**options)
    page.goto(path)
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    return page


def test_a_comment_made_in_one_tab_shows_in_every_other_tab_of_the_ticket(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Discussed"))
    writer = live_page(new_page, f"/tickets/{ticket_id}")
    reader = live_page(new_page, f"/tickets/{ticket_id}", session=server.sign_up(unique("Reader")))
    mark_document(reader)
    said = unique("Seen it")

    box = writer.locator("#comment-body")
    box.fill(f"{said} *too*")
    writer.locator("#comments").get_by_role("button", name="Comment").click()

    # The writer: a notice, the comment in the list, the field empty and focused.
    expect(writer.locator("#notices")).to_contain_text("Comment added.")
    expect(writer.locator("#comment-list em")).to_have_text("too")
    expect(writer.locator("#comment-body")).to_have_value("")
    expect(writer.locator("#comment-body")).to_be_focused()
    # The other tab: the same comment, by the stream, with no reload.
    expect(reader.locator("#comment-list .comment")).to_contain_text(said)
    expect(reader.locator("#comment-list .comment__author")).to_have_text("Ada")
    expect_same_document(reader)
    # Only the author and admins get Edit and Delete.
    expect(reader.locator("#comment-list").get_by_role("link", name="Edit")).to_have_count(0)
    expect(writer.locator("#comment-list").get_by_role("link", name="Edit")).to_have_count(1)


def test_a_refused_comment_comes_back_with_its_message_beside_the_field(
    page: Page, server: Server, unique: Callable[[str], str], expected_errors: list[str]
) -> None:
    expected_errors.append(REFUSED)
    ticket_id = server.create_ticket(unique("Refused"))
    page.goto(f"/tickets/{ticket_id}")
    mark_document(page)

    page.locator("#comments").get_by_role("button", name="Comment").click()

    error = page.locator("#comment-body-error")
    expect(error).to_have_text("Write a comment first.")
    box = page.locator("#comment-body")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_attribute("aria-describedby", "comment-body-hint comment-body-error")
    expect(box).to_be_focused()
    expect(page.locator("#comment-list .comment")).to_have_count(0)
    expect_same_document(page)


def test_deleting_ones_comment_removes_it_and_focus_goes_to_the_heading(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Deleted comment"))
    page = live_page(new_page, f"/tickets/{ticket_id}")
    page.locator("#comment-body").fill("Soon gone")
    page.locator("#comments").get_by_role("button", name="Comment").click()
    expect(page.locator("#comment-list .comment")).to_have_count(1)

    page.locator("#comment-list").get_by_role("button", name="Delete").click()

    expect(page.locator("#comment-list .comment")).to_have_count(0)
    expect(page.locator("#notices")).to_contain_text("Comment deleted.")
    expect(page.locator("#comments-heading")).to_be_focused()


def test_editing_a_comment_leads_back_to_it_with_a_notice(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Edited comment"))
    page.goto(f"/tickets/{ticket_id}")
    page.locator("#comment-body").fill("Tray 2")
    page.locator("#comments").get_by_role("button", name="Comment").click()
    expect(page.locator("#comment-list .comment")).to_have_count(1)

    page.locator("#comment-list").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit comment")).to_be_visible()
    page.get_by_role("textbox", name="Comment").fill("Tray **3**")
    page.get_by_role("button", name="Save comment").click()

    expect(page.locator("#notices")).to_contain_text("Comment saved.")
    expect(page.locator("#comment-list strong")).to_have_text("3")
    expect(page.locator("#comment-list .comment__edited")).to_have_text("(edited)")


def test_without_javascript_a_comment_is_posted_and_refused_as_a_plain_form(
    new_page: Callable[..., Page],
    server: Server,
    unique: Callable[[str], str],
    expected_errors: list[str],
) -> None:
    expected_errors.append(REFUSED)
    ticket_id = server.create_ticket(unique("No script"))
    page = new_page(java_script_enabled=False)
    page.goto(f"/tickets/{ticket_id}")

    page.locator("#comments").get_by_role("button", name="Comment").click()
    expect(page.locator("#comment-body-error")).to_have_text("Write a comment first.")
    page.locator("#comment-body").fill("Plain *form*")
    page.locator("#comments").get_by_role("button", name="Comment").click()

    expect(page.locator("#comment-list em")).to_have_text("form")
    assert page.url.startswith(f"{server.base_url}/tickets/{ticket_id}#comment-")
