"""CACHE_VERIFY_RATE through the real app: a write made behind the cache's back
is found by a sampled HIT, counted in /metrics and shown in the inspector."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from app.cache import Cache
from app.main import create_app
from app.models import Ticket
from app.settings import Settings
from harness.metrics import metrics
from tests.helpers import add_ticket, app_client, sign_in

TICKET_ROUTE = "/tickets/{ticket_id}"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with every cacheable GET sampled (a rate of 1: random() < 1 always)."""
    app = create_app(dataclasses.replace(settings, cache_verify_rate=1.0))
    async with app.router.lifespan_context(app):
        cache: Cache = app.state.cache
        assert cache.verifier is not None
        cache.verifier.grace = 0  # nothing else writes here: no bump is in transit
        yield app


async def write_behind_the_cache(settings: Settings, ticket: Ticket, title: str) -> None:
    """Another program's write: its own engine, SQLAlchemy Core, nothing invalidated."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Ticket).where(Ticket.id == ticket.id).values(title=title)
            )  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def verifications(text: str) -> dict[str, float]:
    prefix = 'cache_verifications_total{outcome="'
    return {k[len(prefix) : -2]: v for k, v in metrics(text).items() if k.startswith(prefix)}


async def test_a_write_behind_the_cache_is_a_divergence_counted_and_shown(
    app: Starlette, settings: Settings, visitor: httpx.AsyncClient
) -> None:
    cache: Cache = app.state.cache
    ticket = await add_ticket(app, title="Printer on fire")
    page = f"/tickets/{ticket.id}"
    await visitor.get(page)  # the MISS that stores it
    same = await visitor.get(page)
    await cache.settle()
    await write_behind_the_cache(settings, ticket, "Printer fixed")

    stale = await visitor.get(page)
    await cache.settle()
    counted = await visitor.get("/metrics")
    async with app_client(app) as admin:
        await sign_in(app, admin, "Ada")
        inspector = await admin.get("/admin/cache", params={"url": page})

    assert same.headers["x-cache"] == "HIT" and stale.headers["x-cache"] == "HIT"
    assert "Printer on fire" in stale.text  # the cache did not know
    assert metrics(counted.text)[f'cache_divergence_total{{route="{TICKET_ROUTE}"}}'] == 1
    assert verifications(counted.text) == {"same": 1, "diverged": 1}
    assert inspector.status_code == 200
    shown = inspector.text[inspector.text.index('id="divergences"') :]
    assert page in shown and TICKET_ROUTE in shown
    assert "Printer on fire" in shown and "Printer fixed" in shown


async def test_a_signed_in_visitors_hit_compares_the_shared_body(
    app: Starlette, visitor: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    """Ada's answer has her name and her buttons in it; the entry does not."""
    cache: Cache = app.state.cache
    ticket = await add_ticket(app)
    await visitor.get(f"/tickets/{ticket.id}")

    hit = await client.get(f"/tickets/{ticket.id}")
    await cache.settle()

    assert hit.headers["x-cache"] == "HIT" and "Ada" in hit.text
    assert verifications(cache.metrics.render().decode()) == {"same": 1}


async def test_the_inspector_says_when_verification_is_off(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), app_client(app) as admin:
        await sign_in(app, admin, "Ada")
        inspector = await admin.get("/admin/cache", params={"url": "/tickets"})

    assert app.state.cache.verifier is None
    assert "Sampled verification is off" in inspector.text


@pytest.mark.parametrize(
    ("value", "rate"),
    [pytest.param(None, 0.0, id="unset"), pytest.param("", 0.0, id="empty"),
     pytest.param("0.001", 0.001, id="one-in-a-thousand"), pytest.param("1", 1.0, id="all")],
)  # fmt: skip
def test_cache_verify_rate_is_read_from_the_environment(value: str | None, rate: float) -> None:
    env = {} if value is None else {"CACHE_VERIFY_RATE": value}
    assert Settings.from_env(env).cache_verify_rate == rate


@pytest.mark.parametrize("value", ["2", "-0.5", "nan"])
def test_cache_verify_rate_outside_0_to_1_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=f"CACHE_VERIFY_RATE must be from 0 to 1, got {value}"):
        Settings.from_env({"CACHE_VERIFY_RATE": value})
