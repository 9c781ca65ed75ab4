"""Password hashing is bounded: no pooled connection held while it runs, at most
``HASH_CONCURRENCY`` at once, the rest refused at once (503, ``Retry-After``)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select
from starlette.applications import Starlette

from app import outbox
from app.accounts import passwords
from app.main import create_app
from app.models import LoginFailure, User
from app.settings import Settings
from tests.helpers import PASSWORD, app_client, sign_up

ADA = "ada@example.com"
WRONG = {"email": ADA, "password": "not the password"}


@pytest.fixture
async def one_slot(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(dataclasses.replace(settings, hash_concurrency=1))
    async with app.router.lifespan_context(app):
        yield app


class Watched:
    """Argon2's hasher, noting how many pooled connections requests hold while it
    runs, and holding each call until ``go`` is set when told to.

    A connection the outbox's own tasks hold (its sweep every 0.2 s, its delete of
    settled rows) is not a request's: on a loaded machine one can overlap a hash."""

    def __init__(self, app: Starlette, *, hold: bool = False) -> None:
        self.real = app.state.passwords._hasher
        self.holders: dict[int, asyncio.Task[Any] | None] = {}  # connection -> task
        pool = app.state.db.engine.sync_engine.pool
        event.listen(pool, "checkout", self._out)
        event.listen(pool, "checkin", lambda connection, _: self.holders.pop(id(connection), None))
        self.checked_out: list[int] = []
        self.started = threading.Event()
        self.go = threading.Event()
        if not hold:
            self.go.set()

    def _out(self, connection: object, *_: object) -> None:
        self.holders[id(connection)] = asyncio.current_task()

    def _by_requests(self) -> int:
        def outboxs(task: asyncio.Task[Any] | None) -> bool:
            code = getattr(task and task.get_coro(), "cr_code", None)
            return code is not None and code.co_filename == outbox.__file__

        return sum(not outboxs(task) for task in list(self.holders.values()))

    def _run(self, method: str, *args: Any) -> Any:
        self.checked_out.append(self._by_requests())
        self.started.set()
        assert self.go.wait(30), "the test never let the hash go on"
        return getattr(self.real, method)(*args)

    def hash(self, password: str) -> str:
        return str(self._run("hash", password))

    def verify(self, stored: str, password: str) -> bool:
        return bool(self._run("verify", stored, password))


async def test_no_connection_is_held_while_hashing(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = Watched(app)
    monkeypatch.setattr(app.state.passwords, "_hasher", watched)
    async with app_client(app) as visitor:
        signed_up = await sign_up(visitor)
        visitor.cookies.clear()
        wrong = await visitor.post("/login", data=WRONG)
        right = await visitor.post("/login", data={"email": ADA, "password": PASSWORD})

    assert (signed_up.status_code, wrong.status_code, right.status_code) == (303, 401, 303)
    assert watched.checked_out == [0, 0, 0]


async def test_a_try_past_the_slots_is_refused_at_once_and_counts_nothing(
    one_slot: Starlette,
) -> None:
    async with app_client(one_slot) as visitor:
        await sign_up(visitor)
        visitor.cookies.clear()
        with one_slot.state.hash_slots.held():  # somebody else's hash
            login = await visitor.post("/login", data=WRONG)
            signup = await sign_up(visitor, "grace@example.com", "Grace")
        after = await visitor.post("/login", data=WRONG)

    for refused in (login, signup):
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == str(passwords.RETRY_AFTER)
        assert "try again in a moment" in refused.text
    assert after.status_code == 401  # the slot was given back
    async with one_slot.state.db.session() as session:
        emails = (await session.exec(select(User.email))).all()
        tries = (await session.exec(select(LoginFailure.key))).all()
    assert emails == [ADA]
    assert sorted(tries) == [
        "account:ada@example.com address:127.0.0.1",
        "address:127.0.0.1",
        "signup:127.0.0.1",
    ]


async def test_while_one_hash_runs_the_burst_gets_503_at_once(
    one_slot: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app_client(one_slot) as visitor:
        await sign_up(visitor)
    watched = Watched(one_slot, hold=True)
    monkeypatch.setattr(one_slot.state.passwords, "_hasher", watched)
    async with app_client(one_slot, "10.0.0.1") as first, app_client(one_slot, "10.0.0.2") as rest:
        running = asyncio.create_task(first.post("/login", data=WRONG))
        assert await asyncio.to_thread(watched.started.wait, 30)  # its hash holds the slot
        burst = await asyncio.gather(*(rest.post("/login", data=WRONG) for _ in range(5)))
        watched.go.set()
        checked = await running

    assert [answer.status_code for answer in burst] == [503] * 5
    assert checked.status_code == 401
    assert one_slot.state.hash_slots.taken == 0


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="HASH_CONCURRENCY must be at least 1"):
        passwords.HashSlots(0)


def test_the_decoy_costs_what_a_password_of_an_account_costs() -> None:
    """A wrong email is verified against a decoy made with the hasher's own
    parameters; one made with others is made again on first use."""
    standard = passwords.Passwords()
    assert not standard._hasher.check_needs_rehash(standard.decoy())
    assert standard.decoy() == passwords._MADE_DECOY

    cheapest = passwords.Passwords("cheapest")
    remade = cheapest.decoy()

    assert remade != passwords._MADE_DECOY
    assert cheapest.decoy() is remade  # made once
    assert cheapest._hasher.verify(remade, "no account has this password")
    assert not cheapest._hasher.check_needs_rehash(remade)


async def test_the_standard_hashing_is_argon2_s_defaults_and_works() -> None:
    """What a server hashes with unless told: RFC 9106's low-memory profile
    (64 MiB, 3 passes, 4 lanes), argon2-cffi's default. The suite's apps hash
    with the cheapest (tests/conftest.py): this is where the real cost runs."""
    standard = passwords.Passwords(Settings().password_hashing)
    stored = await standard.hash("a long enough password")

    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await standard.verify(stored, "a long enough password")
    assert not await standard.verify(stored, "another password")
    assert not await standard.verify(None, "a long enough password")  # against the decoy


def test_an_unknown_hashing_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="PASSWORD_HASHING must be one of standard, cheapest"):
        create_app(Settings.from_env({"PASSWORD_HASHING": "fast"}))
