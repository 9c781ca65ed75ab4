"""Sign up, sign in, sign out. Each POST: validate, write, answer (303 on success).

Not cached: these pages are asked for now and then, and their answers set
cookies. The forms are plain posts (no htmx): a session cookie changes what
every page around them shows.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app import paths
from app.accounts import sessions, throttle
from app.accounts.forms import PASSWORD_MIN, AccountForm, validate
from app.accounts.passwords import hash_password, verify_password
from app.db import database
from app.models import User
from app.templating import render


def _page(request: Request, template: str, form: AccountForm, status: int = 200) -> HTMLResponse:
    next_path = paths.safe_next(request.query_params.get("next") or form.data.get("next"))
    body = render(template, form=form, next=next_path, password_min=PASSWORD_MIN)
    return HTMLResponse(body, status)


async def signup_page(request: Request) -> Response:
    return _page(request, "accounts/signup.html", AccountForm())


async def login_page(request: Request) -> Response:
    return _page(request, "accounts/login.html", AccountForm())


async def signup(request: Request) -> Response:
    form = validate(await request.form(), signing_up=True)
    if not form.is_valid:
        return _page(request, "accounts/signup.html", form, 422)
    password_hash = await hash_password(form.values["password"])
    async with database(request).transaction() as session:
        taken = await session.exec(select(User).where(col(User.email) == form.values["email"]))
        if taken.first() is not None:
            form.errors["email"] = "An account has this email already: sign in instead."
            return _page(request, "accounts/signup.html", form, 422)
        nobody_yet = (await session.exec(select(func.count()).select_from(User))).one() == 0
        user = User(
            name=form.values["name"],
            email=form.values["email"],
            password_hash=password_hash,
            is_admin=nobody_yet,  # the first account is the admin
        )
        session.add(user)
        token = await sessions.start(session, user)
    return _signed_in(request, token, user, form)


async def login(request: Request) -> Response:
    form = validate(await request.form(), signing_up=False)
    if not form.is_valid:
        return _page(request, "accounts/login.html", form, 422)
    email, client = form.values["email"], request.client.host if request.client else ""
    async with database(request).transaction() as session:
        wait = await throttle.retry_after(session, email, client)
        if wait is not None:
            form.errors["form"] = f"Too many wrong passwords: try again in {wait} seconds."
            answer = _page(request, "accounts/login.html", form, 429)
            answer.headers["Retry-After"] = str(wait)
            return answer
        user = (await session.exec(select(User).where(col(User.email) == email))).first()
        if not await verify_password(user.password_hash if user else None, form.values["password"]):
            await throttle.failed(session, email, client)
            form.errors["form"] = "Wrong email or password."
            return _page(request, "accounts/login.html", form, 401)
        assert user is not None
        await throttle.succeeded(session, email)
        token = await sessions.start(session, user)
    return _signed_in(request, token, user, form)


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
]
