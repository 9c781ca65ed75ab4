"""The throttle: tries counted atomically, the guesser slowed where they are, never
the owner elsewhere; sign-ups throttled per address like logins."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from app.accounts import throttle
from app.main import create_app
from app.models import LoginFailure
from app.settings import Settings
from tests.helpers import PASSWORD, app_client, sign_up

ADA = "ada@example.com"
WRONG = {"email": ADA, "password": "not the password"}
RIGHT = {"email": ADA, "password": PASSWORD}


@pytest.fixture
async def roomy(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with a hashing slot for every try of a burst: what is tested is the
    throttle alone (tests/test_passwords.py has the slots)."""
    app = create_app(dataclasses.replace(settings, hash_concurrency=64))
    async with app.router.lifespan_context(app):
        yield app


async def counted(app: Starlette) -> list[str]:
    async with app.state.db.session() as session:
        return sorted(row.key for row in (await session.exec(select(LoginFailure))).all())


async def test_thirty_wrong_passwords_at_once_reach_the_check_ten_times(roomy: Starlette) -> None:
    async with app_client(roomy) as owner:
        assert (await sign_up(owner)).status_code == 303
    async with app_client(roomy, "10.0.0.1") as guesser:
        answers = await asyncio.gather(*(guesser.post("/login", data=WRONG) for _ in range(30)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * throttle.ACCOUNT_LIMIT + [429] * (30 - throttle.ACCOUNT_LIMIT)
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert 0 < int(refused.headers["retry-after"]) <= throttle.WINDOW.total_seconds()
    assert "Too many tries" in refused.text
    # what is counted is what was checked: the refused tries left nothing
    keys = [key for key in await counted(roomy) if not key.startswith("signup:")]
    assert len(keys) == 2 * throttle.ACCOUNT_LIMIT  # one per key per checked try


async def test_a_guesser_cannot_lock_the_owner_out_from_elsewhere(app: Starlette) -> None:
    async with app_client(app) as owner:
        await sign_up(owner)
    async with app_client(app, "10.0.0.1") as guesser:
        wrong = [await guesser.post("/login", data=WRONG) for _ in range(throttle.ACCOUNT_LIMIT)]
        slowed = await guesser.post("/login", data=RIGHT)  # even a right guess, from there
    async with app_client(app, "10.0.0.2") as owner:
        mistyped = await owner.post("/login", data=WRONG)
        signed_in = await owner.post("/login", data=RIGHT)

    assert [answer.status_code for answer in wrong] == [401] * throttle.ACCOUNT_LIMIT
    assert slowed.status_code == 429
    assert mistyped.status_code == 401
    assert signed_in.status_code == 303 and "session" in signed_in.cookies


async def test_signing_in_forgets_the_accounts_tries_from_there_not_the_addresss(
    app: Starlette,
) -> None:
    async with app_client(app) as owner:
        await sign_up(owner)
    async with app_client(app, "10.0.0.2") as owner:
        for _ in range(throttle.ACCOUNT_LIMIT - 1):
            assert (await owner.post("/login", data=WRONG)).status_code == 401
        assert (await owner.post("/login", data=RIGHT)).status_code == 303

    keys = await counted(app)
    assert not [key for key in keys if key.startswith("account:")]  # the count begins again
    # the address's wrong tries still count; the success is no failure
    assert keys.count("address:10.0.0.2") == throttle.ACCOUNT_LIMIT - 1


async def test_one_address_many_accounts_is_slowed_by_the_address_limit(app: Starlette) -> None:
    async with app_client(app, "10.0.0.3") as guesser:
        answers = [
            await guesser.post("/login", data={"email": f"u{n}@example.com", "password": "guess"})
            for n in range(throttle.ADDRESS_LIMIT + 1)
        ]
    async with app_client(app, "10.0.0.4") as other:
        elsewhere = await other.post("/login", data={"email": "u0@example.com", "password": "x"})

    assert [a.status_code for a in answers] == [401] * throttle.ADDRESS_LIMIT + [429]
    assert elsewhere.status_code == 401


async def test_sign_ups_are_throttled_per_address(app: Starlette) -> None:
    async with app_client(app, "10.0.0.5") as many:
        answers = []
        for n in range(throttle.SIGNUP_LIMIT + 1):
            many.cookies.clear()
            answers.append(await sign_up(many, f"p{n}@example.com", f"P{n}"))
    async with app_client(app, "10.0.0.6") as other:
        elsewhere = await sign_up(other, "q@example.com", "Q")

    assert [a.status_code for a in answers] == [303] * throttle.SIGNUP_LIMIT + [429]
    assert 0 < int(answers[-1].headers["retry-after"]) <= throttle.WINDOW.total_seconds()
    assert "Too many tries" in answers[-1].text
    assert elsewhere.status_code == 303


async def test_sign_ups_at_once_from_one_address_are_counted_atomically(roomy: Starlette) -> None:
    async def one(n: int) -> httpx.Response:
        async with app_client(roomy, "10.0.0.7") as visitor:
            return await sign_up(visitor, f"r{n}@example.com", f"R{n}")

    answers = await asyncio.gather(*(one(n) for n in range(throttle.SIGNUP_LIMIT + 5)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [303] * throttle.SIGNUP_LIMIT + [429] * 5


def test_a_key_too_long_for_its_column_is_named_by_its_digest() -> None:
    email, address = "a" * 242 + "@example.com", "/run/a socket path a server may give/" * 2

    key = throttle.account_key(email, address)

    assert key.startswith("sha256:") and len(key) <= throttle.KEY_MAX
    assert key == throttle.account_key(email, address)
    assert key != throttle.account_key(email, address + "2")
    assert throttle.account_key(email, "2001:db8::1").startswith("account:")
