"""With JavaScript off, every form is a plain post answered by 303 See Other."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.helpers import Server, edit_form, expect_whole_page, new_ticket_form, row


@pytest.fixture
def page_without_js(new_page: Callable[..., Page]) -> Page:
    return new_page(java_script_enabled=False)


def expect_plain_post_redirected(request: Request, base_url: str, path: str, to: str) -> None:
    """A form post made by the browser itself (no htmx), answered 303 -> ``to``."""
    assert request.method == "POST"
    assert request.url == f"{base_url}{path}"
    assert request.is_navigation_request()
    assert request.headers.get("hx-request") is None
    response = request.response()
    assert response is not None
    assert response.status == 303
    assert response.headers["location"] == to
    assert request.redirected_to is not None
    assert request.redirected_to.url == f"{base_url}{to}"
    assert request.redirected_to.method == "GET"


def test_create_update_and_delete_work_as_plain_form_posts(
    page_without_js: Page, server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    page = page_without_js
    title = unique("No JavaScript")
    page.goto("/tickets")
    assert page.evaluate("typeof window.htmx") == "undefined"  # the script did not run

    # Create, from the list page's form.
    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("Posted without JavaScript.")
    with page.expect_request(lambda r: r.method == "POST") as created:
        form.get_by_role("button", name="Create ticket").click()
    expect_plain_post_redirected(created.value, base_url, "/tickets", "/tickets")
    expect(page).to_have_url(f"{base_url}/tickets")
    expect_whole_page(page)
    the_row = page.locator("#ticket-list li.ticket-row").filter(has_text=title)
    expect(the_row).to_have_count(1)
    ticket_id = (the_row.get_attribute("id") or "").removeprefix("ticket-")

    # Update the status from the list: the <noscript> Save button posts the row's form.
    the_row.locator("select[name=status]").select_option("DONE")
    with page.expect_request(lambda r: r.method == "POST") as updated:
        the_row.get_by_role("button", name="Save").click()
    path = f"/tickets/{ticket_id}"
    expect_plain_post_redirected(updated.value, base_url, f"{path}/update", path)
    expect(page).to_have_url(f"{base_url}{path}")
    expect_whole_page(page)
    expect(page.locator(".ticket-detail .badge")).to_have_text("Done")

    # Update the title from the ticket's page.
    new_title = unique("Renamed without JavaScript")
    edit = edit_form(page)
    edit.locator("input[name=title]").fill(new_title)
    with page.expect_request(lambda r: r.method == "POST") as renamed:
        edit.get_by_role("button", name="Save changes").click()
    expect_plain_post_redirected(renamed.value, base_url, f"{path}/update", path)
    expect(page.locator("h1")).to_have_text(new_title)
    expect(page.locator("#ticket-form select[name=status]")).to_have_value("DONE")

    # Delete from the ticket's page: a page asks first, then the form posts.
    page.locator("#main").get_by_role("button", name="Delete", exact=True).click()
    # A GET form with no fields leaves an empty query ("?").
    expect(page).to_have_url(re.compile(rf"^{re.escape(f'{base_url}{path}/delete')}\??$"))
    expect(page.locator("h1")).to_have_text(f"Delete “{new_title}”?")
    with page.expect_request(lambda r: r.method == "POST") as deleted:
        page.locator("#main").get_by_role("button", name="Delete", exact=True).click()
    expect_plain_post_redirected(deleted.value, base_url, f"{path}/delete", "/tickets")
    expect(page).to_have_url(f"{base_url}/tickets")
    expect_whole_page(page)
    expect(page.locator("#ticket-list")).to_have_count(1)
    expect(row(page, ticket_id)).to_have_count(0)
    assert server.get(path).status_code == 404


def test_delete_from_the_list_works_as_a_plain_form_post(
    page_without_js: Page, server: Server, base_url: str, unique: Callable[[str], str]
) -> None:
    page = page_without_js
    ticket_id = server.create_ticket(unique("Deleted from the list without JavaScript"))
    page.goto("/tickets")
    path = f"/tickets/{ticket_id}/delete"
    # Without JavaScript there is no Undo, so Delete asks first; Cancel goes back.
    row(page, ticket_id).get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(f'{base_url}{path}')}\??$"))
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{base_url}/tickets/{ticket_id}")
    page.goto("/tickets")
    row(page, ticket_id).get_by_role("button", name="Delete").click()
    with page.expect_request(lambda r: r.method == "POST") as deleted:
        page.locator("#main").get_by_role("button", name="Delete", exact=True).click()
    expect_plain_post_redirected(deleted.value, base_url, path, "/tickets")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/tickets$"))
    expect_whole_page(page)
    expect(row(page, ticket_id)).to_have_count(0)
    assert server.get(f"/tickets/{ticket_id}").status_code == 404
