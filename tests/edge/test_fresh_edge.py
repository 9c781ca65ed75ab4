"""The oracle through the edge: every answer the edge gives after a write is the
one the app with the cache off gives for the same URL and person.

A real server behind Varnish, and beside it, in this process, the oracle
(``CACHE_URL=off``) over the same SQLite file. Writes go through the edge, in
an order drawn from a fixed seed; after each one, each person's pages, lists,
searches and live sources are asked of both. The edge adds headers of its own
(``Age``, ``Via``, ``X-Varnish``) and fills holes itself, so the status and the
body are compared, byte for byte.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from app import paths
from app.main import create_app
from app.models import TicketStatus
from app.settings import Settings
from harness.app_server import AppServer
from harness.client import create_ticket, sign_up
from harness.oracle import links_of
from harness.servers import EdgeServer

STEPS = 12
SEED = 21
SOURCES = "/fragments/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def edge_and_database(tmp_path: Path) -> Iterator[tuple[EdgeServer, str]]:
    database = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    app = AppServer(tmp_path / "app.log", env={"DATABASE_URL": database})
    edge = EdgeServer(tmp_path / "edge", app.port).start()
    try:
        app.env.update(edge.app_env())
        app.start()
        yield edge, database
    finally:
        app.stop()
        edge.stop()


def test_every_answer_through_the_edge_is_the_oracles(
    edge_and_database: tuple[EdgeServer, str],
) -> None:
    edge, database = edge_and_database
    draw = random.Random(SEED)
    with (
        httpx.Client(base_url=edge.base_url, timeout=10) as ada,
        httpx.Client(base_url=edge.base_url, timeout=10) as grace,
        httpx.Client(base_url=edge.base_url, timeout=10) as anonymous,
    ):
        people = {"Ada": ada, "Grace": grace, "anonymous": anonymous}
        sign_up(ada, name="Ada")
        sign_up(grace, name="Grace")
        tickets = [create_ticket(ada, title=f"Printer {n}") for n in range(2)]
        deleted: list[str] = []
        done: list[str] = []
        for step in range(STEPS):
            writer = draw.choice([ada, grace])
            action = draw.choice(["create", "edit", "status", "delete", "undo"])
            if action == "create":
                tickets.append(create_ticket(writer, title=f"Cafe {step}"))
            elif action == "edit" and tickets:
                ticket = draw.choice(tickets)
                writer.post(paths.ticket_update_path(ticket), data={"title": f"Printer {step}"})
            elif action == "status" and tickets:
                status = draw.choice(list(TicketStatus)).value
                writer.post(paths.ticket_update_path(tickets[-1]), data={"status": status})
            elif action == "delete" and tickets:
                ticket = tickets.pop(draw.randrange(len(tickets)))
                if ada.post(paths.ticket_delete_path(ticket)).status_code == 303:
                    deleted.append(ticket)
            elif action == "undo" and deleted:
                ticket = deleted.pop()
                if ada.post(paths.ticket_restore_path(ticket)).status_code == 303:
                    tickets.append(ticket)
            done.append(action)
            asyncio.run(_everyone_sees_the_oracles(people, database, tickets + deleted, done))


async def _everyone_sees_the_oracles(
    people: dict[str, httpx.Client], database: str, tickets: list[str], done: list[str]
) -> None:
    oracle = create_app(Settings(database_url=database, cache_url="off"))
    async with oracle.router.lifespan_context(oracle):
        for name, through_edge in people.items():
            transport = httpx.ASGITransport(app=oracle)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", cookies=through_edge.cookies
            ) as fresh:
                await _same_answers(name, through_edge, fresh, tickets, done)


async def _same_answers(
    name: str,
    through_edge: httpx.Client,
    fresh: httpx.AsyncClient,
    tickets: list[str],
    done: list[str],
) -> None:
    lists = [paths.tickets_path(f"status={status.value}") for status in TicketStatus]
    urls = [paths.home_path(), paths.tickets_path(), *lists]
    urls += [paths.tickets_path(urlencode({"q": words})) for words in ("print", "cafe")]
    urls += [url for ticket in tickets for url in (paths.ticket_path(ticket),)]
    seen, queue = set(urls), list(urls)
    while queue:
        url = queue.pop(0)
        for headers in [HTMX] if url.startswith(SOURCES) else [{}, HTMX]:
            edge_answer = through_edge.get(url, headers=headers)
            oracle_answer = await fresh.get(url, headers=headers)
            said = f"after {done}, GET {url} {headers or ''} as {name}"
            assert edge_answer.status_code == oracle_answer.status_code, said
            assert edge_answer.text == oracle_answer.text, said
            for link in links_of(oracle_answer.text):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
