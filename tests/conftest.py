"""One app per test, over its own SQLite file, driven through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.applications import Starlette

from app.main import create_app
from app.models import Ticket, TicketStatus
from app.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


HTMX = {"HX-Request": "true"}


async def add_ticket(
    app: Starlette,
    title: str = "Printer on fire",
    content: str = "Smoke from tray 2.",
    status: TicketStatus = TicketStatus.OPEN,
) -> Ticket:
    """Write a ticket straight to the database (set-up, before anything is cached)."""
    async with app.state.db.transaction() as session:
        ticket = Ticket(title=title, content=content, status=status)
        session.add(ticket)
    return ticket


async def ticket_count(app: Starlette) -> int:
    async with app.state.db.session() as session:
        return (await session.exec(select(func.count()).select_from(Ticket))).one()
