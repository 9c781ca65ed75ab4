"""Sign-ups that race: one email makes one account (the other gets 422, never a
500), and of two first sign-ups exactly one is the admin. The race is forced:
both wait at a barrier after every check they make before writing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from app.accounts.people import EmailTaken, add_person
from app.main import create_app
from app.models import User
from app.settings import Settings
from tests.helpers import app_client, sign_up


@pytest.fixture
async def racing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Starlette]:
    """The app, whose sign-ups each wait for the other once checked and hashed."""
    barrier = asyncio.Barrier(2)
    app = create_app(dataclasses.replace(settings, hash_concurrency=2))
    real = app.state.passwords.hash

    async def hash_when_both_are_here(password: str) -> str:
        await asyncio.wait_for(barrier.wait(), 30)
        return str(await real(password))

    monkeypatch.setattr(app.state.passwords, "hash", hash_when_both_are_here)
    async with app.router.lifespan_context(app):
        yield app


async def both(app: Starlette, *accounts: tuple[str, str]) -> list[httpx.Response]:
    async def one(email: str, name: str) -> httpx.Response:
        async with app_client(app) as visitor:
            return await sign_up(visitor, email, name)

    return list(await asyncio.gather(*(one(email, name) for email, name in accounts)))


async def people(app: Starlette) -> list[User]:
    async with app.state.db.session() as session:
        return list((await session.exec(select(User))).all())


@pytest.mark.parametrize("round_", range(3))
async def test_two_sign_ups_of_one_email_at_once_make_one_account(
    racing: Starlette, round_: int
) -> None:
    answers = await both(racing, ("ada@example.com", "Ada"), ("ADA@example.com", "Ada Two"))

    assert sorted(answer.status_code for answer in answers) == [303, 422]
    refused = next(answer for answer in answers if answer.status_code == 422)
    assert "An account has this email already" in refused.text
    assert "session" not in refused.cookies
    assert [person.email for person in await people(racing)] == ["ada@example.com"]


@pytest.mark.parametrize("round_", range(3))
async def test_two_first_sign_ups_at_once_make_exactly_one_admin(
    racing: Starlette, round_: int
) -> None:
    answers = await both(racing, ("ada@example.com", "Ada"), ("grace@example.com", "Grace"))

    assert [answer.status_code for answer in answers] == [303, 303]
    admins = [person.name for person in await people(racing) if person.is_admin]
    assert len(admins) == 1
    viewers = sorted(answer.cookies["viewer"] == "admin" for answer in answers)
    assert viewers == [False, True]  # and the edge's cookie says the same


async def test_a_sign_up_rolled_back_leaves_the_first_seat_free(app: Starlette) -> None:
    with pytest.raises(EmailTaken):
        async with app.state.db.transaction() as session:
            for name in ("Ada", "Ada again"):  # the second fails: all is rolled back
                await add_person(session, name=name, email="ada@example.com", password_hash="-")
    async with app_client(app) as visitor:
        first = await sign_up(visitor, "grace@example.com", "Grace")

    assert first.status_code == 303
    assert [(p.name, p.is_admin) for p in await people(app)] == [("Grace", True)]
