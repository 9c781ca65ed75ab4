"""The page states the accessibility checkers look at (tests/browser/test_accessibility.py):
each a function that brings a fresh page, signed in as the admin, into one state,
with tickets of its own (``tag`` makes their titles unique).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from app.tickets.comment_views import SHOWN as SHOWN_COMMENTS
from app.tickets.timeline import SHOWN as SHOWN_CHANGES
from tests.browser.helpers import Server, edit_form, new_ticket_form, row

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Console errors some states cause on purpose (a failed save, the browser offline).
FAILED_LOAD = r"Failed to load resource|htmx:sendError|htmx:afterRequest|ERR_|EventSource|4\d\d"

Setup = Callable[[Page, Server, str], None]


# -- the states -------------------------------------------------------------------


def home(page: Page, server: Server, tag: str) -> None:
    page.goto("/")


def many_tickets(page: Page, server: Server, tag: str) -> None:
    for n in range(3):
        server.create_ticket(f"{tag} {n}")
    server.set_status(server.create_ticket(f"{tag} in progress"), "IN_PROGRESS")
    server.set_status(server.create_ticket(f"{tag} done"), "DONE")
    page.goto("/tickets")


def empty_list(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets?q=nothing{tag.split()[-1]}")
    expect(page.locator(".list-empty")).to_be_visible()


def validation_errors(page: Page, server: Server, tag: str) -> None:
    page.goto("/tickets")
    new_ticket_form(page).get_by_role("button", name="Create ticket").click()
    expect(page.locator("#ticket-form .field-error")).to_have_count(2)


def ticket_page(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{server.create_ticket(f'{tag} open')}")


def not_found(page: Page, server: Server, tag: str) -> None:
    page.goto("/tickets/no-such-ticket")


def deleted_notice(page: Page, server: Server, tag: str) -> None:
    ticket_id = server.create_ticket(f"{tag} deleted")
    page.goto(f"/tickets/{ticket_id}")
    expect(page.locator("html[data-live=open]")).to_have_count(1)
    with server.http() as http:
        http.post(f"/tickets/{ticket_id}/delete")
    expect(page.locator(".ticket-gone")).to_be_visible()


def legend_open(page: Page, server: Server, tag: str) -> None:
    page.goto("/tickets")
    page.locator("#status-legend summary").click()
    expect(page.locator("#status-legend dl")).to_be_visible()


def undo_toast(page: Page, server: Server, tag: str) -> None:
    ticket_id = server.create_ticket(f"{tag} to delete")
    page.goto("/tickets")
    row(page, ticket_id).get_by_role("button", name="Delete").click()
    expect(page.locator("#notices").get_by_role("button", name="Undo")).to_be_visible()
    page.locator("#notices .toast").hover()  # it stays while looked at


def failure_alert(page: Page, server: Server, tag: str) -> None:
    ticket_id = server.create_ticket(f"{tag} unsaved")
    page.goto("/tickets")
    expect(page.locator("html[data-live=open]")).to_have_count(1)  # one state, not a race
    page.route("**/update", lambda route: route.abort())
    row(page, ticket_id).locator("select[name=status]").select_option("DONE")
    expect(page.locator("#alerts .toast")).to_be_visible()


def offline_banner(page: Page, server: Server, tag: str) -> None:
    """The browser goes offline and a link is followed (test_answers.py stops the server)."""
    page.goto("/tickets")
    page.context.set_offline(True)
    page.locator(".topbar").get_by_role("link", name="All tickets").click()
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator("#alerts")).to_contain_text("Could not open the page")


def shortcuts_help(page: Page, server: Server, tag: str) -> None:
    page.goto("/tickets")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()


def confirm_delete(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{server.create_ticket(f'{tag} asked')}/delete")


def sign_up_page(page: Page, server: Server, tag: str) -> None:
    page.goto("/signup")


def sign_in_refused(page: Page, server: Server, tag: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(f"{tag.split()[-1]}@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-error")).to_have_text("Wrong email or password.")


def visitor_list(page: Page, server: Server, tag: str) -> None:
    """Nobody signed in: badges instead of status selects, a way to sign in instead of a form."""
    page.context.clear_cookies()
    for n in range(3):
        server.create_ticket(f"{tag} {n}")
    page.goto("/tickets")
    expect(page.locator(".topbar").get_by_role("link", name="Sign in")).to_be_visible()


def visitor_ticket_page(page: Page, server: Server, tag: str) -> None:
    page.context.clear_cookies()
    page.goto(f"/tickets/{server.create_ticket(f'{tag} open')}")
    expect(page.get_by_text("to edit this ticket")).to_be_visible()


def timeline(page: Page, server: Server, tag: str) -> None:
    """A ticket's history: edits of each kind, an old description disclosed, Revert offered."""
    ticket_id = server.create_ticket(f"{tag} history", "Smoke from tray two. " * 10)
    with server.http() as http:
        for data in ({"title": f"{tag} renamed"}, {"status": "DONE"}, {"content": "Fixed."}):
            assert http.post(f"/tickets/{ticket_id}/update", data=data).status_code == 303
    page.goto(f"/tickets/{ticket_id}")
    page.locator("#ticket-history details summary").click()
    expect(page.locator("#ticket-history .timeline__revert")).to_have_count(2)


def edit_conflict(page: Page, server: Server, tag: str) -> None:
    """A save that clashed with someone else's: the panel in the edit form's place."""
    ticket_id = server.create_ticket(f"{tag} clash")
    page.goto(f"/tickets/{ticket_id}")
    form = edit_form(page)
    form.get_by_label("Title").fill(f"{tag} mine")
    with server.http() as http:
        http.post(f"/tickets/{ticket_id}/update", data={"title": f"{tag} theirs"})
    expect(page.locator("#ticket-view h1")).to_have_text(f"{tag} theirs")  # live
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#edit-conflict h2")).to_be_focused()


def cache_charts(page: Page, server: Server, tag: str) -> None:
    server.create_ticket(f"{tag} charted")
    page.goto("/admin/cache")
    expect(page.locator("[data-figures]")).to_have_attribute(
        "data-samples", re.compile(r"\d+")
    )  # polled


# -- bulk actions (static/bulk.js) --


def selection_bar(page: Page, server: Server, tag: str) -> None:
    """Rows selected: the bar with the count and the actions, the rows marked."""
    made = [server.create_ticket(f"{tag} {n}") for n in range(3)]
    page.goto(f"/tickets?q={tag.split()[-1]}")
    for ticket_id in made[:2]:
        row(page, ticket_id).locator(".ticket-row__pick input").click()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")


def bulk_delete_asked(page: Page, server: Server, tag: str) -> None:
    """A bulk delete posted without JavaScript asks first, listing the tickets."""
    made = [server.create_ticket(f"{tag} {n}") for n in range(2)]
    page.goto(f"/tickets?q={tag.split()[-1]}")
    for ticket_id in made:
        row(page, ticket_id).locator(".ticket-row__pick input").check()
    page.evaluate(  # a plain form post: what a browser without JavaScript sends
        """() => {
        const form = document.getElementById("bulk");
        form.append(Object.assign(document.createElement("input"),
                                  {type: "hidden", name: "action", value: "delete"}));
        form.submit();
    }"""
    )
    expect(page.get_by_role("heading", name="Delete 2 tickets?")).to_be_visible()


# -- people24: the account page, the assignee picker, the list's filter and sort --


def _as_newcomer(page: Page, server: Server, tag: str) -> None:
    """Signed in as a person of their own: renaming the admin would change other tests."""
    token = server.sign_up(f"Newcomer {tag.split()[-1]}")
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "session", "value": token, "url": server.base_url}])


def account_page(page: Page, server: Server, tag: str) -> None:
    _as_newcomer(page, server, tag)
    page.goto("/account")
    expect(page.get_by_role("textbox", name="Name")).to_be_visible()


def account_renamed(page: Page, server: Server, tag: str) -> None:
    _as_newcomer(page, server, tag)
    page.goto("/account")
    page.get_by_role("textbox", name="Name").fill(f"Renamed {tag.split()[-1]}")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#notices .toast")).to_contain_text("Your name is now")
    expect(page.locator(".account-bar__name")).to_contain_text("Renamed")


def account_refused(page: Page, server: Server, tag: str) -> None:
    _as_newcomer(page, server, tag)
    page.goto("/account")
    page.get_by_role("textbox", name="Name").fill("")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#account-form .field-error")).to_be_visible()


def assignee_picker(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{server.create_ticket(f'{tag} to assign')}")
    expect(page.get_by_label("Assign to")).to_be_visible()
    expect(page.get_by_role("button", name="Assign to me")).to_be_visible()


def list_filtered_and_sorted(page: Page, server: Server, tag: str) -> None:
    server.create_ticket(f"{tag} unassigned")
    page.goto("/tickets?assignee=none&sort=updated")
    expect(page.get_by_label("Assignee", exact=True)).to_have_value("none")
    expect(page.get_by_label("Sort")).to_have_value("updated")


# -- comments (issue 24) ------------------------------------------------------------

COMMENTS = (
    "Seen it *too*: `lpr -P tray2` fails.",
    "- check [the log](https://example.com/log)\n- **then** retry",
)


def commented_ticket(server: Server, tag: str) -> str:
    ticket_id = server.create_ticket(f"{tag} discussed")
    with server.http() as http:
        for body in COMMENTS:
            answer = http.post(f"/tickets/{ticket_id}/comments", data={"body": body})
            assert answer.status_code == 303, answer.text
    return ticket_id


def comments_listed(page: Page, server: Server, tag: str) -> None:
    """Comments with their Edit and Delete (the admin's), and the form."""
    page.goto(f"/tickets/{commented_ticket(server, tag)}")
    expect(page.locator("#comment-list .comment")).to_have_count(len(COMMENTS))


def comment_refused(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{commented_ticket(server, tag)}")
    page.locator("#comments").get_by_role("button", name="Comment").click()
    expect(page.locator("#comment-body-error")).to_be_visible()


def comment_added(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{server.create_ticket(f'{tag} first comment')}")
    page.locator("#comment-body").fill("First!")
    page.locator("#comments").get_by_role("button", name="Comment").click()
    expect(page.locator("#notices")).to_contain_text("Comment added.")


def comment_edit_page(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{commented_ticket(server, tag)}")
    page.locator("#comment-list").get_by_role("link", name="Edit").first.click()
    expect(page.get_by_role("heading", name="Edit comment")).to_be_visible()


def visitor_comments(page: Page, server: Server, tag: str) -> None:
    page.context.clear_cookies()
    page.goto(f"/tickets/{commented_ticket(server, tag)}")
    expect(page.get_by_text("to comment.")).to_be_visible()


# -- earlier comments and changes, a comment's undo (pages24) --------------------


def long_discussion(server: Server, tag: str) -> str:
    """A ticket with three comments more than its page shows, and as many changes."""
    ticket_id = server.create_ticket(f"{tag} long discussion")
    server.comment(ticket_id, *(f"Remark {n}, *noted*." for n in range(SHOWN_COMMENTS + 3)))
    for n in range(SHOWN_CHANGES + 2):
        server.set_status(ticket_id, ("IN_PROGRESS", "DONE")[n % 2])
    return ticket_id


def earlier_shown(page: Page, server: Server, tag: str) -> None:
    """Earlier comments and changes loaded in place, focus on the first of them."""
    page.goto(f"/tickets/{long_discussion(server, tag)}")
    page.get_by_role("link", name="Show earlier changes").click()
    expect(page.locator("#history-earlier .timeline__entry").first).to_be_focused()
    page.get_by_role("link", name="Show earlier comments").click()
    expect(page.locator("#comments-earlier .comment").first).to_be_focused()


def earlier_comments_page(page: Page, server: Server, tag: str) -> None:
    """Where Show earlier comments leads without JavaScript (a page of its own)."""
    page.goto(f"/tickets/{long_discussion(server, tag)}")
    href = page.get_by_role("link", name="Show earlier comments").get_attribute("href")
    page.goto(href or "")
    expect(page.get_by_role("heading", name="Earlier comments")).to_be_visible()


def earlier_changes_page(page: Page, server: Server, tag: str) -> None:
    page.goto(f"/tickets/{long_discussion(server, tag)}")
    href = page.get_by_role("link", name="Show earlier changes").get_attribute("href")
    page.goto(href or "")
    expect(page.get_by_role("heading", name="Earlier changes")).to_be_visible()


def comment_deleted_undo(page: Page, server: Server, tag: str) -> None:
    """A comment's delete, answered with Undo."""
    page.goto(f"/tickets/{commented_ticket(server, tag)}")
    page.locator("#comment-list").get_by_role("button", name="Delete").first.click()
    expect(page.locator("#notices").get_by_role("button", name="Undo")).to_be_visible()


def comment_restored(page: Page, server: Server, tag: str) -> None:
    comment_deleted_undo(page, server, tag)
    page.locator("#notices").get_by_role("button", name="Undo").click()
    expect(page.locator("#notices")).to_contain_text("Comment restored.")
    expect(page.locator("#comment-list .comment").first).to_be_focused()


STATES: list[Setup] = [
    home,
    many_tickets,
    empty_list,
    validation_errors,
    ticket_page,
    not_found,
    deleted_notice,
    legend_open,
    undo_toast,
    failure_alert,
    offline_banner,
    shortcuts_help,
    confirm_delete,
    sign_up_page,
    sign_in_refused,
    visitor_list,
    visitor_ticket_page,
    timeline,
    edit_conflict,
    cache_charts,
    selection_bar,
    bulk_delete_asked,
    account_page,
    account_renamed,
    account_refused,
    assignee_picker,
    list_filtered_and_sorted,
    comments_listed,
    comment_refused,
    comment_added,
    comment_edit_page,
    visitor_comments,
    earlier_shown,
    earlier_comments_page,
    earlier_changes_page,
    comment_deleted_undo,
    comment_restored,
]
