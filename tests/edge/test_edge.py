"""The edge cache (Varnish with xkey, scripts/edge) in front of the real server.

Every read here goes through the edge, as a browser's would: pages are kept
there until the app purges their tags, which it does before a write answers;
the holes in them (who is signed in, who may delete) are filled per request.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.settings import ROOT
from harness.app_server import AppServer
from harness.client import create_ticket, held_by_edge, sign_up
from harness.processes import free_port
from harness.servers import EdgeServer, TcpProxy

EVENT_WITHIN_SECONDS = 1.0


@dataclass
class Site:
    app: AppServer
    edge: EdgeServer

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.edge.base_url, timeout=10)


@contextmanager
def started(tmp_path: Path, *, purge_through: TcpProxy | None = None) -> Iterator[Site]:
    """The edge, and the app behind it, which purges it directly or ``purge_through``
    a proxy (pointed at the edge here)."""
    app = AppServer(
        tmp_path / "app.log", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'e.db'}"}
    )
    edge = EdgeServer(tmp_path / "edge", app.port).start()
    try:
        if purge_through is not None:
            purge_through.upstream_port = edge.port
        app.env.update(edge.app_env(purge_through.port if purge_through else None))
        app.start()
        yield Site(app, edge)
    finally:
        app.stop()
        edge.stop()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with started(tmp_path) as running:
        yield running


def account_bar(page: httpx.Response) -> str:
    found = re.search(r'<div class="account-bar".*?</div>', page.text, re.S)
    assert found is not None
    return found.group(0)


def cache_status(answer: httpx.Response) -> str:
    return answer.headers.get("cache-status", "")


def test_the_second_read_is_an_edge_hit_and_says_so_per_layer(site: Site) -> None:
    with site.client() as http:
        first = http.get("/tickets")
        second = http.get("/tickets")

    assert first.status_code == second.status_code == 200
    assert cache_status(first).endswith("edge; fwd=miss")
    assert cache_status(second).startswith("tickets; ")  # the app's member comes first
    assert cache_status(second).endswith("edge; hit")
    assert "xkey" not in second.headers and "surrogate-control" not in second.headers
    assert second.headers["cache-control"] == "no-cache"  # browsers still ask every time
    assert "<esi:include" not in second.text and ">Sign in</a>" in second.text


def test_no_read_through_the_edge_shows_a_ticket_after_its_delete_was_answered(
    site: Site,
) -> None:
    with site.client() as http:
        sign_up(http, name="Ada")  # the admin
        ids = [create_ticket(http, title=f"Doomed {n}") for n in range(5)]
        for ticket_id in ids:  # every page the edge will hold
            http.get("/tickets")
            http.get(f"/tickets/{ticket_id}")
        assert held_by_edge(http, f"/tickets/{ids[0]}")

        stale = 0
        for ticket_id in ids:
            deleted = http.post(f"/tickets/{ticket_id}/delete")
            assert deleted.status_code == 303 and deleted.headers["location"] == "/tickets"
            for _ in range(10):
                listing = http.get("/tickets")
                page = http.get(f"/tickets/{ticket_id}")
                stale += f'id="ticket-{ticket_id}"' in listing.text
                stale += page.status_code != 404

    assert stale == 0


def test_two_people_see_only_their_own_names_from_one_edge_object(site: Site) -> None:
    with site.client() as ada, site.client() as bob:
        sign_up(ada, name="Ada")
        sign_up(bob, name="Bob")
        bobs = create_ticket(bob, title="Bob's ticket")
        ada_page = ada.get("/tickets")
        bob_page = bob.get("/tickets")
        httpx.get(site.edge.base_url + "/tickets")  # a visitor's object is another one
        visitor_page = httpx.get(site.edge.base_url + "/tickets")

    assert "Signed in as <strong>Ada</strong>" in account_bar(ada_page)
    assert "Signed in as <strong>Bob</strong>" in account_bar(bob_page)
    assert "Bob" not in account_bar(ada_page) and "Ada" not in account_bar(bob_page)
    assert "Signed in as" not in visitor_page.text
    # Bob's create purged the list; his read after it (create_ticket's) put the
    # shared part back at the edge: Ada's page is a hit of it, with her holes.
    assert cache_status(ada_page).endswith("edge; hit")
    assert cache_status(bob_page).endswith("edge; hit")
    assert cache_status(visitor_page).endswith("edge; hit")
    assert "Delete" in row_of(ada_page, bobs) and "Delete" in row_of(bob_page, bobs)
    assert "Delete" not in row_of(visitor_page, bobs)  # admin, author; a visitor


def row_of(page: httpx.Response, ticket_id: str) -> str:
    found = re.search(rf'<li id="ticket-{ticket_id}".*?</li>', page.text, re.S)
    assert found is not None, f"no row for {ticket_id}"
    return found.group(0)


def test_a_persons_page_asks_the_app_for_their_account_alone_and_offers_delete_where_they_may(
    site: Site,
) -> None:
    with site.client() as ada, site.client() as bob, site.client() as carol:
        people = {"Ada": ada, "Bob": bob, "Carol": carol}  # Ada, the first, is the admin
        for name, person in people.items():
            sign_up(person, name=name)
        bobs = create_ticket(bob, title="Bob's ticket")
        carols = create_ticket(carol, title="Carol's ticket")
        for person in people.values():  # the edge fetches each Delete answer once
            person.get("/tickets")
        # A round in which the edge held every page: each write's spare purge
        # (harness.client.held_by_edge) can spoil one round, never more.
        for _ in range(6):
            before = site.edge.backend_requests()
            pages = {name: person.get("/tickets") for name, person in people.items()}
            asked = site.edge.backend_requests() - before
            if all(cache_status(page).endswith("edge; hit") for page in pages.values()):
                break

    assert all(cache_status(page).endswith("edge; hit") for page in pages.values())
    assert asked == len(people)  # each page's account hole; its Deletes are the edge's
    offered = {
        name: ["Delete" in row_of(page, t) for t in (bobs, carols)] for name, page in pages.items()
    }
    assert offered == {"Ada": [True, True], "Bob": [True, False], "Carol": [False, True]}


def test_a_forged_viewer_cookie_shows_a_delete_that_still_deletes_nothing(site: Site) -> None:
    with site.client() as ada, site.client() as carol:
        sign_up(ada, name="Ada")
        sign_up(carol, name="Carol")
        adas = create_ticket(ada, title="Not Carol's to delete")
        carol.cookies.delete("viewer")
        carol.cookies.set("viewer", "admin")  # not a secret, and not proof either
        page = carol.get("/tickets")
        refused = carol.post(f"/tickets/{adas}/delete")
        still = ada.get(f"/tickets/{adas}")

    assert "Delete" in row_of(page, adas)  # the edge believed the cookie...
    assert refused.status_code == 403  # ...the app checks the session
    assert still.status_code == 200  # still there


def edge_rows(inspector: httpx.Response) -> dict[tuple[str, str], str]:
    """The page variant's "At the edge" table: (for whom, encoding) -> what is kept."""
    table = inspector.text.split("At the edge")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>(.*?)</tr>", table, re.S)
    return {(" ".join(who.split()[:2]), encoding): kept.strip() for who, encoding, kept in rows}


def test_a_session_without_a_viewer_cookie_has_its_deletes_decided_by_the_app(
    site: Site,
) -> None:
    """A session older than the viewer cookie: the edge asks the app for each Delete."""
    with site.client() as ada, site.client() as carol:
        sign_up(ada, name="Ada")
        sign_up(carol, name="Carol")
        adas = create_ticket(ada, title="Not Carol's")
        carols = create_ticket(carol, title="Carol's own")
        carol.cookies.delete("viewer")
        before = site.edge.backend_requests()
        page = carol.get("/tickets")
        asked = site.edge.backend_requests() - before

    assert "Delete" in row_of(page, carols) and "Delete" not in row_of(page, adas)
    rows = page.text.count('<li id="ticket-')
    assert rows >= 2 and asked >= 1 + rows  # the account hole and every Delete hole, one by one


def test_the_inspector_shows_what_the_edge_keeps_without_making_it_fetch(site: Site) -> None:
    with site.client() as ada, site.client() as visitor:
        sign_up(ada, name="Ada")  # the admin
        for _ in range(2):
            visitor.get("/tickets")  # httpx asks for br
        ada.get("/tickets")
        kept = edge_rows(ada.get("/admin/cache", params={"url": "/tickets"}))
        create_ticket(ada, title="Purges the list")
        after = edge_rows(ada.get("/admin/cache", params={"url": "/tickets"}))
        ada.get("/admin/cache", params={"url": "/tickets?status=OPEN"})  # probed only
        probed_first = httpx.get(site.edge.base_url + "/tickets?status=OPEN")
        visitor.get("/tickets?q=two%20words")  # a search, kept by its URL as sent
        searched = ada.get("/admin/cache", params={"url": "/tickets?q=two words"})

    assert re.search(
        r"s ago, fresh</td><td>1 times</td><td><code>[^<]*\bticket\?(?=[\s<])",
        kept[("an anonymous", "br")],
    )
    assert "fresh" in kept[("people (holes", "br")]
    assert kept[("an anonymous", "gzip")].startswith("<td>no</td>")
    # The write purged them all; Ada's read after it (create_ticket's) put hers back.
    assert all(
        after[("an anonymous", encoding)] == "<td>no</td><td></td><td></td>"
        for encoding in ("br", "gzip", "none")
    )
    assert "fresh</td><td>0 times" in after[("people (holes", "br")]
    assert cache_status(probed_first).endswith("edge; fwd=miss")
    assert searched.status_code == 200  # a space in the URL is encoded, not an error
    assert "fresh" in edge_rows(searched)[("an anonymous", "br")]


def test_an_event_stream_through_the_edge_hears_a_write_within_a_second(site: Site) -> None:
    async def scenario() -> float:
        async with (
            httpx.AsyncClient(base_url=site.edge.base_url, timeout=10) as http,
            http.stream("GET", "/events") as stream,
        ):
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 2000"
            with httpx.Client(base_url=site.edge.base_url, timeout=10) as writer:
                sign_up(writer)
                written = time.monotonic()
                made = writer.post("/tickets", data={"title": "Heard", "content": "x"})
                assert made.status_code == 303
            async for line in lines:
                if line.startswith("data:") and '"ticket?"' in line:
                    return time.monotonic() - written
        raise AssertionError("the stream ended")

    assert asyncio.run(scenario()) < EVENT_WITHIN_SECONDS


def test_a_purge_the_edge_missed_is_made_by_the_outbox(tmp_path: Path) -> None:
    proxy = TcpProxy(0).start()  # its upstream, the edge, is set once the edge has a port
    try:
        with started(tmp_path, purge_through=proxy) as site, site.client() as http:
            sign_up(http, name="Ada")
            ticket_id = create_ticket(http, title="Purged late")
            http.get(f"/tickets/{ticket_id}")
            assert cache_status(http.get(f"/tickets/{ticket_id}")).endswith("edge; hit")

            proxy.cut()  # the app cannot reach the edge to purge it
            deleted = http.post(f"/tickets/{ticket_id}/delete")
            assert deleted.status_code == 303  # committed; its purge waits in the outbox
            proxy.heal()
            healed = time.monotonic()
            while http.get(f"/tickets/{ticket_id}").status_code != 404:
                assert time.monotonic() - healed < 5, "the purge never came"
            assert time.monotonic() - healed < 2  # a sweep or two (app/outbox.py)
    finally:
        proxy.close()


def test_scripts_run_starts_the_edge_with_the_app_and_stops_it_with_the_app(
    tmp_path: Path,
) -> None:
    port, edge_port = free_port(), free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "EDGE_PORT": str(edge_port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "TMPDIR": str(tmp_path),  # where scripts/run keeps the edge's folder
    }
    with (tmp_path / "run.log").open("wb") as log:
        run = subprocess.Popen(
            ["bash", "scripts/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while True:  # a process start, not an event we could await
                try:
                    answer = httpx.get(f"http://127.0.0.1:{edge_port}/tickets", timeout=5)
                    if answer.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert run.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "run.log"
                ).read_text()
                time.sleep(0.1)
            assert "edge; fwd=miss" in answer.headers["cache-status"]
            assert list(tmp_path.glob("tickets-edge.*/varnishd.pid"))
        finally:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=30)

    assert not list(tmp_path.glob("tickets-edge.*")), "the edge's folder is left"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{edge_port}/tickets", timeout=2)
