"""What the edge may keep, and who may purge it (issue 22, items 1-3 and raw ESI).

- a read that straddles a write is answered, and not kept there;
- a purge the edge could not take yet (stalled) holds the write's answer, and
  lands when it resumes;
- the HX headers a body varies on are folded before the lookup: no request
  can store one variant under another's key;
- PURGE, SOFTPURGE and probes need the app's secret and Host;
- no page shows a raw ESI include, signed in, on forms, 404s or with Redis down.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import paths
from app.main import create_app
from app.settings import Settings
from app.tickets import queries
from harness.app_server import AppServer, ThreadedServer
from harness.client import create_ticket, sign_up
from harness.processes import free_port
from harness.servers import EdgeServer, RedisServer

TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


@dataclass
class Site:
    app: AppServer
    edge: EdgeServer

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.edge.base_url, timeout=20)


@contextmanager
def started(tmp_path: Path, **env: str) -> Iterator[Site]:
    app = AppServer(
        tmp_path / "app.log",
        env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", **env},
    )
    edge = EdgeServer(tmp_path / "edge", app.port).start()
    try:
        app.env.update(edge.app_env())
        app.start()
        yield Site(app, edge)
    finally:
        app.stop()
        edge.stop()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with started(tmp_path) as running:
        yield running


def title_on(page: httpx.Response) -> str:
    found = TITLE.search(page.text)
    return found.group(1) if found else ""


# -- 1. a straddling read is not kept ---------------------------------------------------


def test_a_read_that_straddles_a_write_is_answered_and_not_kept_at_the_edge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's reproduction: a read made slow (an injected delay, released
    only after the write's answer) ends after the write; the edge must not
    keep its pre-write body. The spare purge is put off for good, so nothing
    but the app's answer can keep the edge fresh."""
    reached, release = threading.Event(), threading.Event()
    slow: dict[str, str] = {}
    original = queries.get_ticket

    async def get_ticket(session: Any, ticket_id: str) -> Any:
        ticket = await original(session, ticket_id)
        if slow.pop(ticket_id, None):  # once: the write's own reads are not held
            reached.set()
            await asyncio.to_thread(release.wait, 30)
        return ticket

    monkeypatch.setattr(queries, "get_ticket", get_ticket)
    port = free_port()
    edge = EdgeServer(tmp_path / "edge", port).start()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
        edge_url=edge.base_url,
        edge_secret=edge.secret,
    )
    app = create_app(settings)
    app.state.cache.edges[0].repurge_after = 3600  # the spare purge never comes
    try:
        with (
            ThreadedServer(app, port),
            httpx.Client(base_url=edge.base_url, timeout=30) as ada,
            httpx.Client(base_url=edge.base_url, timeout=30) as visitor,
        ):
            sign_up(ada, name="Ada")
            ticket = create_ticket(ada, title="Version one")
            url = paths.ticket_path(ticket)
            slow[ticket] = "hold"
            straddling: list[httpx.Response] = []
            reader = threading.Thread(target=lambda: straddling.append(visitor.get(url)))
            reader.start()
            assert reached.wait(30)  # it has read version one
            written = ada.post(paths.ticket_update_path(ticket), data={"title": "Version two"})
            assert written.status_code == 303  # acknowledged
            release.set()
            reader.join(30)
            after = [visitor.get(url) for _ in range(3)]
    finally:
        edge.stop()

    assert title_on(straddling[0]).startswith("Version one")  # its asker still gets it
    assert all(title_on(page).startswith("Version two") for page in after)


# -- 2. a purge the edge could not take yet ---------------------------------------------


def test_a_write_while_the_edge_is_stalled_is_answered_once_its_purge_lands(
    site: Site,
) -> None:
    with site.client() as ada:
        sign_up(ada, name="Ada")
        ticket = create_ticket(ada, title="Before the stall")
        url = paths.ticket_path(ticket)
        ada.get(url)
        assert ada.get(url).headers["cache-status"].endswith("edge; hit")

    answers: list[httpx.Response] = []

    def write() -> None:  # a client of its own: one client is not for two threads
        with httpx.Client(base_url=site.app.base_url, timeout=30, cookies=ada.cookies) as own:
            answers.append(own.post(paths.ticket_update_path(ticket), data={"title": "After"}))

    stalled = site.edge.stall()
    try:
        with httpx.Client(base_url=site.app.base_url, timeout=30) as direct:
            writer = threading.Thread(target=write)
            writer.start()
            deadline = time.monotonic() + 10
            while not title_on(direct.get(url)).startswith("After"):  # committed and bumped
                assert time.monotonic() < deadline, "the write never committed"
            assert writer.is_alive() and not answers  # ...but not answered: its purge waits
    finally:
        site.edge.resume(stalled)
    writer.join(30)

    assert answers[0].status_code == 303
    with site.client() as visitor:
        assert title_on(visitor.get(url)).startswith("After")


# -- 3. the key covers what the body varies on ------------------------------------------

POISONS = [
    pytest.param([("HX-Request", "true"), ("HX-History-Restore-Request", "true")], id="restore"),
    pytest.param([("HX-Request", "true"), ("HX-Request", "false")], id="true-then-false"),
    pytest.param([("HX-Request", "false"), ("HX-Request", "true")], id="false-then-true"),
    pytest.param([("hx-request", "TRUE")], id="odd-casing"),
    pytest.param([("HX-Request", "true"), ("HX-Request", "true")], id="true-twice"),
]


@pytest.mark.parametrize("poison", POISONS)
def test_no_header_stores_one_variant_under_another_right_after_a_purge(
    site: Site, poison: list[tuple[str, str]]
) -> None:
    purge = {"x-edge-secret": site.edge.secret, "xkey-purge": "*"}
    with site.client() as http:
        for url in (paths.tickets_path(), paths.home_path()):
            assert http.request("PURGE", "/", headers=purge).status_code == 200
            odd = http.get(url, headers=poison)
            page = http.get(url)
            partial = http.get(url, headers={"HX-Request": "true"})

            assert odd.status_code == page.status_code == partial.status_code == 200
            assert "<html" in odd.text  # the app and the edge agree: not a plain "true"
            assert "<html" in page.text
            assert (
                "<html" not in partial.text
                and "HX-History-Restore-Request" in (partial.headers["vary"])
            )


def test_edge_control_needs_the_apps_secret_and_host(site: Site) -> None:
    secret = {"x-edge-secret": site.edge.secret}
    foreign = {**secret, "Host": "evil.example"}
    with site.client() as http:
        http.get("/tickets")
        kept = http.get("/tickets")
        refused = [
            http.request("PURGE", "/", headers={"xkey-purge": "*"}),
            http.request("SOFTPURGE", "/", headers={"xkey-purge": "*"}),
            http.request("PURGE", "/", headers={"xkey-purge": "*", "x-edge-secret": "wrong" * 4}),
            http.request("PURGE", "/", headers={**foreign, "xkey-purge": "*"}),
            http.get("/tickets", headers={"x-edge-probe": "anonymous"}),
            http.get("/tickets", headers={**foreign, "x-edge-probe": "anonymous"}),
        ]
        still = http.get("/tickets")
        probed = http.get("/tickets", headers={**secret, "x-edge-probe": "anonymous"})
        purged = http.request("PURGE", "/", headers={**secret, "xkey-purge": "*"})
        after = http.get("/tickets")

    assert kept.headers["cache-status"].endswith("edge; hit")
    assert [answer.status_code for answer in refused] == [403] * len(refused)
    assert still.headers["cache-status"].endswith("edge; hit")  # nothing was purged
    assert probed.status_code == 200 and purged.status_code == 200
    assert after.headers["cache-status"].endswith("edge; fwd=miss")


# -- raw ESI: never shown ---------------------------------------------------------------


def no_raw_esi(page: httpx.Response, name: str) -> None:
    assert "<esi:" not in page.text, page.url
    assert f"<strong>{name}</strong>" in page.text, page.url  # the account hole, filled


def test_a_person_never_sees_raw_esi_on_forms_and_404_pages(site: Site) -> None:
    with site.client() as ada:
        sign_up(ada, name="Ada")
        unknown = paths.ticket_path(str(uuid.uuid4()))
        for url in ("/login", "/signup", unknown, "/no-such-page", paths.tickets_path()):
            for headers in ({}, {"HX-Request": "true"}):
                page = ada.get(url, headers=headers)
                if not headers:
                    no_raw_esi(page, "Ada")
                assert "<esi:" not in page.text


def test_with_redis_down_no_page_shows_raw_esi(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path).start()
    try:
        with started(tmp_path, CACHE_URL=redis.url) as running, running.client() as ada:
            sign_up(ada, name="Ada")
            ticket = create_ticket(ada, title="Kept without Redis")
            urls = [paths.home_path(), paths.tickets_path(), paths.ticket_path(ticket)]
            redis.stop()
            with running.client() as visitor:
                for url in urls:
                    no_raw_esi(ada.get(url), "Ada")
                    anonymous = visitor.get(url)
                    assert "<esi:" not in anonymous.text and ">Sign in</a>" in anonymous.text
    finally:
        redis.stop()
