"""Sign up, sign in, sign out. Each POST: validate, write, answer (303 on success).

Not cached: these pages are asked for now and then, and their answers set
cookies. The forms are plain posts (no htmx): a session cookie changes what
every page around them shows.
"""

from __future__ import annotations

from contextlib import ExitStack

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app import paths
from app.accounts import sessions, throttle
from app.accounts.account import routes as account_routes
from app.accounts.forms import PASSWORD_MIN, AccountForm, validate
from app.accounts.passwords import RETRY_AFTER, Busy, HashSlots, Passwords
from app.accounts.people import EmailTaken, add_person
from app.clients import client_address
from app.db import database
from app.models import User
from app.templating import render

EMAIL_TAKEN = "An account has this email already: sign in instead."
BUSY = "Too many people are signing in right now: try again in a moment."


def _page(request: Request, template: str, form: AccountForm, status: int = 200) -> HTMLResponse:
    next_path = paths.safe_next(request.query_params.get("next") or form.data.get("next"))
    body = render(template, form=form, next=next_path, password_min=PASSWORD_MIN)
    return HTMLResponse(body, status)


def _refused(request: Request, template: str, form: AccountForm, exc: Exception) -> Response:
    """A try refused before its hash: 429 (throttled) or 503 (every hashing slot taken)."""
    if isinstance(exc, throttle.TooMany):
        wait, status = exc.retry_after, 429
        form.errors["form"] = f"Too many tries: try again in {wait} seconds."
    else:
        wait, status = RETRY_AFTER, 503
        form.errors["form"] = BUSY
    answer = _page(request, template, form, status)
    answer.headers["Retry-After"] = str(wait)
    return answer


async def signup_page(request: Request) -> Response:
    return _page(request, "accounts/signup.html", AccountForm())


async def login_page(request: Request) -> Response:
    return _page(request, "accounts/login.html", AccountForm())


async def signup(request: Request) -> Response:
    """Validate; count the try and take a hashing slot (or 429, 503); hash with
    no transaction open; then make the account, which the database may
    refuse (the email taken a moment ago: 422)."""
    template = "accounts/signup.html"
    form = validate(await request.form(), signing_up=True)
    if not form.is_valid:
        return _page(request, template, form, 422)
    db = database(request)
    email = form.values["email"]
    async with db.session() as session:  # saves a hash; the insert decides
        taken = await session.exec(select(User.id).where(col(User.email) == email))
        if taken.first() is not None:
            form.errors["email"] = EMAIL_TAKEN
            return _page(request, template, form, 422)
    with ExitStack() as slot:
        try:
            async with db.transaction() as session:
                await throttle.attempt(session, throttle.signup_limits(client_address(request)))
                slot.enter_context(_slots(request).held())
        except (throttle.TooMany, Busy) as exc:
            return _refused(request, template, form, exc)
        password_hash = await _passwords(request).hash(form.values["password"])
    try:
        async with db.transaction() as session:
            user = await add_person(
                session, name=form.values["name"], email=email, password_hash=password_hash
            )
            token = await sessions.start(session, user)
    except EmailTaken:
        form.errors["email"] = EMAIL_TAKEN
        return _page(request, template, form, 422)
    return _signed_in(request, token, user, form)


async def login(request: Request) -> Response:
    """Validate; count the try and take a hashing slot (or 429, 503); verify
    with no transaction open; then forget the try and start a session (303),
    or leave it counted (401)."""
    template = "accounts/login.html"
    form = validate(await request.form(), signing_up=False)
    if not form.is_valid:
        return _page(request, template, form, 422)
    db = database(request)
    email, address = form.values["email"], client_address(request)
    with ExitStack() as slot:
        try:
            async with db.transaction() as session:
                tries = await throttle.attempt(session, throttle.login_limits(email, address))
                user = (await session.exec(select(User).where(col(User.email) == email))).first()
                slot.enter_context(_slots(request).held())
        except (throttle.TooMany, Busy) as exc:
            return _refused(request, template, form, exc)
        stored = user.password_hash if user else None
        right = await _passwords(request).verify(stored, form.values["password"])
    if not right:
        form.errors["form"] = "Wrong email or password."
        return _page(request, template, form, 401)
    assert user is not None
    async with db.transaction() as session:
        await throttle.succeeded(session, tries, email, address)
        token = await sessions.start(session, user)
    return _signed_in(request, token, user, form)


def _slots(request: Request) -> HashSlots:
    slots: HashSlots = request.app.state.hash_slots
    return slots


def _passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def logout(request: Request) -> Response:
    async with database(request).transaction() as session:
        await sessions.end(session, request.cookies.get(sessions.COOKIE))
    answer = RedirectResponse(paths.home_path(), status_code=303)
    sessions.clear_cookies(request, answer)
    return answer


def _signed_in(request: Request, token: str, user: User, form: AccountForm) -> Response:
    answer = RedirectResponse(paths.safe_next(form.data.get("next")), status_code=303)
    sessions.set_cookies(request, answer, token, user)
    return answer


routes = [
    Route("/signup", signup_page, methods=["GET"], name="signup_page"),
    Route("/signup", signup, methods=["POST"], name="signup"),
    Route("/login", login_page, methods=["GET"], name="login_page"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    *account_routes,
]
