"""Accounts: sign up, sign in, sign out; sessions that end; wrong passwords throttled."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from app.accounts import sessions, throttle
from app.models import LoginFailure, User
from tests.helpers import PASSWORD, TEST_DATABASE_URL, app_client, sign_up


async def user_of_cookie(app: Starlette, token: str | None) -> User | None:
    async with app.state.db.session() as session:
        return await sessions.user_of(session, token)


async def test_signing_up_signs_in_with_a_safe_cookie_and_the_first_is_the_admin(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    first = await sign_up(visitor, "Ada@Example.com ")
    token = first.cookies.get(sessions.COOKIE)
    visitor.cookies.clear()
    second = await sign_up(visitor, "grace@example.com", "Grace")

    assert first.status_code == 303 and first.headers["location"] == "/tickets"
    cookies = [cookie.lower() for cookie in first.headers.get_list("set-cookie")]
    # The session, whom it names for the edge, and the write's read-after clock.
    assert [cookie.split("=")[0] for cookie in cookies] == [
        "session",
        "viewer",
        "cache-read-after",
    ]
    for cookie in cookies:
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    ada = await user_of_cookie(app, token)
    grace = await user_of_cookie(app, second.cookies.get(sessions.COOKIE))
    assert ada is not None and (ada.name, ada.email, ada.is_admin) == (
        "Ada",
        "ada@example.com",
        True,
    )
    assert grace is not None and not grace.is_admin
    assert first.cookies[sessions.VIEWER_COOKIE] == "admin"
    assert second.cookies[sessions.VIEWER_COOKIE] == grace.id


async def test_the_password_is_stored_nowhere_readably(
    app: Starlette, visitor: httpx.AsyncClient, tmp_path: Path
) -> None:
    await sign_up(visitor)
    async with app.state.db.session() as session:
        user = (await session.exec(select(User))).one()

    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    if not TEST_DATABASE_URL:
        await app.state.db.engine.dispose()  # every page on disk
        for path in tmp_path.glob("tickets.db*"):
            assert PASSWORD.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"name": "", "email": "a@b.co", "password": PASSWORD}, "name", id="no-name"),
        pytest.param({"name": "A", "email": "nope", "password": PASSWORD}, "email", id="email"),
        pytest.param({"name": "A", "email": "a@b.co", "password": "Zq9xw"}, "password", id="short"),
        pytest.param({"name": "A\x00", "email": "a@b.co", "password": PASSWORD}, "name", id="nul"),
    ],
)
async def test_a_bad_signup_is_422_with_its_message_and_makes_nobody(
    app: Starlette, visitor: httpx.AsyncClient, fields: dict[str, str], field: str
) -> None:
    answer = await visitor.post("/signup", data=fields)

    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text
    assert fields["password"] not in answer.text  # never shown again
    assert sessions.COOKIE not in answer.cookies
    async with app.state.db.session() as session:
        assert (await session.exec(select(User))).first() is None


async def test_an_email_has_one_account(visitor: httpx.AsyncClient) -> None:
    await sign_up(visitor)
    again = await sign_up(visitor, "ADA@example.com")

    assert again.status_code == 422
    assert "An account has this email already" in again.text


async def test_sign_in_then_sign_out_and_the_old_cookie_is_worthless(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    await sign_up(visitor)
    visitor.cookies.clear()

    signed_in = await visitor.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "next": "/tickets/x"}
    )
    token = signed_in.cookies.get(sessions.COOKIE)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/tickets/x"
    assert await user_of_cookie(app, token) is not None

    signed_out = await visitor.post("/logout")

    assert signed_out.status_code == 303
    assert await user_of_cookie(app, token) is None  # even for whoever copied it
    cleared = signed_out.headers.get_list("set-cookie")
    assert any(c.startswith('session="";') for c in cleared)
    assert any(c.startswith('viewer="";') for c in cleared)


async def test_a_page_asked_again_with_a_signed_out_cookie_is_nobody_s(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    async with app_client(app) as copier:  # the same cookie, elsewhere
        copier.cookies.set(sessions.COOKIE, client.cookies[sessions.COOKIE])
        await copier.get("/tickets")
        kept = await copier.get("/tickets")  # a HIT, kept to be given again as it is
        await client.post("/logout")
        again = await copier.get("/tickets")

    assert kept.headers["x-cache"] == "HIT" and "Sign out" in kept.text
    assert "Sign out" not in again.text and "Sign in" in again.text


async def test_twelve_wrong_passwords_in_a_row_are_throttled_and_the_owner_can_wait(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    await sign_up(visitor)
    visitor.cookies.clear()
    wrong = {"email": "ada@example.com", "password": "not the password"}

    answers = [await visitor.post("/login", data=wrong) for _ in range(12)]
    right = await visitor.post("/login", data={"email": "ada@example.com", "password": PASSWORD})

    assert [a.status_code for a in answers] == [401] * throttle.ACCOUNT_LIMIT + [429, 429]
    assert "Wrong email or password." in answers[0].text
    assert 0 < int(answers[-1].headers["retry-after"]) <= throttle.WINDOW.total_seconds()
    assert right.status_code == 429  # not even the right one, for now
    async with app.state.db.transaction() as session:  # the window passes
        for failure in (await session.exec(select(LoginFailure))).all():
            failure.at = failure.at - throttle.WINDOW
            session.add(failure)
    later = await visitor.post("/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert later.status_code == 303


async def test_a_cross_site_login_is_refused(visitor: httpx.AsyncClient) -> None:
    await sign_up(visitor)

    answer = await visitor.post(
        "/login",
        data={"email": "ada@example.com", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )

    assert answer.status_code == 403


async def test_the_pages_offer_their_forms(visitor: httpx.AsyncClient) -> None:
    signup = await visitor.get("/signup", params={"next": "/tickets/7"})
    login = await visitor.get("/login")

    assert signup.status_code == login.status_code == 200
    assert 'autocomplete="new-password"' in signup.text
    assert 'name="next" value="/tickets/7"' in signup.text
    assert 'autocomplete="current-password"' in login.text
