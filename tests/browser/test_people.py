"""People in a real browser: sign up, create, delete one's own, sign out, sign in.

The pages are the shared cache entries with their holes filled per request:
what each person sees of them is checked here, as a person sees it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from harness.client import TEST_PASSWORD
from tests.browser.helpers import Server, edit_form, new_ticket_form, row


def account_bar(page: Page) -> str:
    return page.locator(".topbar .account-bar").inner_text()


def test_a_person_signs_up_creates_deletes_their_own_and_signs_out(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    admins = server.create_ticket(unique("The admin's ticket"))
    page = new_page(session=None)
    page.goto("/tickets")

    # A visitor: a way to sign in; no form to create, no status to change, no Delete.
    expect(page.locator(".topbar").get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.locator("#ticket-form")).to_be_hidden()
    expect(page.get_by_text("to create a ticket")).to_be_visible()
    expect(row(page, admins).get_by_role("combobox")).to_be_hidden()
    expect(row(page, admins).get_by_role("button", name="Delete")).to_have_count(0)

    page.locator(".topbar").get_by_role("link", name="Sign up").click()
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Name").fill("Grace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/tickets$"))
    expect(page.locator(".topbar")).to_contain_text("Signed in as Grace")
    title = unique("Grace's ticket")
    form = new_ticket_form(page)  # in it: a list row's label may say "title" too
    form.get_by_label("Title").fill(title)
    form.get_by_label("Description").fill("Made in the browser.")
    form.get_by_role("button", name="Create ticket").click()
    mine = page.locator("#ticket-list li.ticket-row", has_text=title)
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("by Grace")
    # Hers has a Delete; the admin's, which she may not delete, has none.
    expect(mine.get_by_role("button", name="Delete")).to_have_count(1)
    expect(row(page, admins).get_by_role("button", name="Delete")).to_have_count(0)
    # Nor edit: only its author, its assignee or an admin may; she sees its status.
    expect(row(page, admins).get_by_role("combobox")).to_be_hidden()
    expect(row(page, admins).locator(".badge")).to_be_visible()
    expect(mine.get_by_role("combobox")).to_be_visible()  # hers she may

    mine.get_by_role("button", name="Delete").click()
    expect(mine).to_have_count(0)
    expect(page.locator("#notices")).to_contain_text(f"Ticket “{title}” deleted.")

    page.locator(".topbar").get_by_role("button", name="Sign out").click()
    expect(page.locator(".topbar").get_by_role("link", name="Sign in")).to_be_visible()
    assert "Grace" not in account_bar(page)

    page.locator(".topbar").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topbar")).to_contain_text("Signed in as Grace")


def test_a_visitor_sent_to_sign_in_comes_back_where_they_were(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    ticket_id = server.create_ticket(unique("Asks for a sign-in"))
    email = f"lin-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=server.base_url) as http:
        account = {"name": "Lin", "email": email, "password": TEST_PASSWORD}
        assert http.post("/signup", data=account).status_code == 303
        lin = http.cookies["viewer"]  # her id
    with server.http() as http:  # assigned to her: hers to edit
        answer = http.post(f"/tickets/{ticket_id}/update", data={"assignee": lin})
        assert answer.status_code == 303
    page = new_page(session=None)
    page.goto(f"/tickets/{ticket_id}")
    expect(page.locator("#ticket-form")).to_be_hidden()
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)

    page.get_by_text("to edit this ticket").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(f"/tickets/{ticket_id}$"))
    edit_form(page)  # hers to edit: Edit opens the form
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)  # not hers to delete

    # The top bar's Sign in (a hole, the same on every page) comes back here too.
    page.locator(".topbar").get_by_role("button", name="Sign out").click()
    page.goto(f"/tickets/{ticket_id}")
    page.locator(".topbar").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/login\?next=%2Ftickets%2F{ticket_id}$"))


def test_two_people_in_two_browsers_each_see_only_their_own_name_and_deletes(
    new_page: Callable[..., Page], server: Server, unique: Callable[[str], str]
) -> None:
    bob = server.sign_up("Bob")
    bobs = server.create_ticket(unique("Bob's ticket"), session=bob)
    admins = server.create_ticket(unique("Ada's ticket"))
    ada_page, bob_page = new_page(), new_page(session=bob)
    for page in (ada_page, bob_page):
        page.goto("/tickets")

    expect(ada_page.locator(".topbar")).to_contain_text("Signed in as Ada")
    expect(bob_page.locator(".topbar")).to_contain_text("Signed in as Bob")
    assert "Bob" not in account_bar(ada_page) and "Ada" not in account_bar(bob_page)
    expect(row(ada_page, bobs).get_by_role("button", name="Delete")).to_have_count(1)  # admin
    expect(row(bob_page, bobs).get_by_role("button", name="Delete")).to_have_count(1)
    expect(row(bob_page, admins).get_by_role("button", name="Delete")).to_have_count(0)

    # A live refresh of a row keeps its holes filled for whoever is looking.
    server.set_status(bobs, "DONE")
    expect(row(bob_page, bobs)).to_have_class(re.compile("status-done"))
    expect(row(bob_page, bobs).get_by_role("button", name="Delete")).to_have_count(1)
    expect(row(ada_page, bobs)).to_have_class(re.compile("status-done"))
    expect(row(ada_page, bobs).get_by_role("button", name="Delete")).to_have_count(1)


def test_the_new_ticket_shortcut_leads_a_visitor_to_sign_in(
    new_page: Callable[..., Page], server: Server
) -> None:
    page = new_page(session=None)
    page.goto("/tickets")
    page.keyboard.press("c")

    focused = page.locator(":focus")
    expect(focused).to_have_text("Sign in")
    expect(focused).to_have_attribute("href", re.compile(r"^/login\?next="))
