"""Inline actions on the list page: htmx swaps a row, the counts follow, no navigation."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    Server,
    accept_dialogs,
    expect_counts,
    expect_same_document,
    mark_document,
    new_ticket_form,
    read_counts,
    row,
)

FADING = """(id) => {
    const el = document.getElementById(id);
    if (!el || !el.classList.contains("htmx-swapping")) return false;
    const opacity = parseFloat(getComputedStyle(el).opacity);
    return 0 < opacity && opacity < 1;
}"""


def test_inline_delete_fades_the_row_out_and_updates_the_counts_without_navigating(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Inline delete")
    ticket_id = server.create_ticket(title)
    server.create_ticket(unique("Stays in the list"))
    dialogs = accept_dialogs(page)
    page.goto("/tickets")
    the_row = row(page, ticket_id)
    expect(the_row).to_have_count(1)
    before = read_counts(page)
    url = page.url
    mark_document(page)

    with page.expect_response(
        lambda r: r.url.endswith(f"/tickets/{ticket_id}/delete") and r.request.method == "POST"
    ) as deleted:
        the_row.get_by_role("button", name="Delete").click()
        # The row fades out (htmx-swapping + the CSS transition) before it is removed.
        page.wait_for_function(FADING, arg=f"ticket-{ticket_id}")

    assert deleted.value.status == 200
    assert deleted.value.headers.get("hx-redirect") is None
    assert dialogs == []  # no confirm: the delete is offered an Undo instead
    expect(page.locator("#notices .toast")).to_contain_text(f"Ticket “{title}” deleted.")
    expect(the_row).to_have_count(0)
    expect(page.locator("#ticket-list li.ticket-row")).not_to_have_count(0)  # only that row went
    expect_counts(page, {None: before[None] - 1, "OPEN": before["OPEN"] - 1})
    assert page.url == url
    expect_same_document(page)
    assert server.get(f"/tickets/{ticket_id}").status_code == 404


def test_inline_create_prepends_the_row_resets_the_form_and_updates_the_counts(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    server.create_ticket(unique("Older ticket"))
    title = unique("Created inline")
    page.goto("/tickets")
    before = read_counts(page)
    url = page.url
    mark_document(page)

    form = new_ticket_form(page)
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=content]").fill("Typed in the browser.")
    with page.expect_response(
        lambda r: r.url.endswith("/tickets") and r.request.method == "POST"
    ) as created:
        form.get_by_role("button", name="Create ticket").click()

    assert created.value.status == 200
    assert created.value.request.headers.get("hx-request") == "true"
    first = page.locator("#ticket-list li.ticket-row").first
    expect(first.locator("a")).to_have_text(title)
    expect(first).to_have_class(re.compile(r"\bstatus-open\b"))
    expect(form.locator("input[name=title]")).to_have_value("")
    expect(form.locator("textarea[name=content]")).to_have_value("")
    expect_counts(page, {None: before[None] + 1, "OPEN": before["OPEN"] + 1})
    assert page.url == url
    expect_same_document(page)

    # The new row is live: its status select posts inline like any other row.
    ticket_id = (first.get_attribute("id") or "").removeprefix("ticket-")
    with page.expect_response(lambda r: r.url.endswith(f"/tickets/{ticket_id}/update")):
        first.locator("select[name=status]").select_option("DONE")
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-done\b"))
    expect_counts(page, {"OPEN": before["OPEN"], "DONE": before["DONE"] + 1})
    expect_same_document(page)

    # Stored, and the cached list page was invalidated: a reload shows it too.
    page.reload()
    expect(row(page, ticket_id).locator("a")).to_have_text(title)
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-done\b"))


def test_inline_status_change_swaps_the_row_and_updates_the_counts(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    title = unique("Status change")
    ticket_id = server.create_ticket(title)
    page.goto("/tickets")
    before = read_counts(page)
    url = page.url
    mark_document(page)
    old_select = row(page, ticket_id).locator("select[name=status]").element_handle()

    with page.expect_response(
        lambda r: r.url.endswith(f"/tickets/{ticket_id}/update") and r.request.method == "POST"
    ) as updated:
        row(page, ticket_id).locator("select[name=status]").select_option("IN_PROGRESS")

    assert updated.value.status == 200
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-in_progress\b"))
    expect(row(page, ticket_id).locator("select[name=status]")).to_have_value("IN_PROGRESS")
    # The row was swapped for the server's, not left as the user changed it.
    assert old_select is not None
    assert not old_select.evaluate("el => el.isConnected")
    expect(page.locator(f"#ticket-{ticket_id}")).to_have_count(1)
    expect_counts(
        page,
        {
            None: before[None],
            "OPEN": before["OPEN"] - 1,
            "IN_PROGRESS": before["IN_PROGRESS"] + 1,
            "DONE": before["DONE"],
        },
    )
    assert page.url == url
    expect_same_document(page)

    page.reload()
    expect(row(page, ticket_id)).to_have_class(re.compile(r"\bstatus-in_progress\b"))
