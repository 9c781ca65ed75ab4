"""Odd input and races: a clear 4xx, never a 5xx, and nothing changed."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.models import TicketStatus
from app.settings import Settings
from tests.helpers import add_ticket, ticket_count


@pytest.mark.parametrize("round_", range(3))
async def test_updates_racing_a_delete_are_2xx_or_404_never_5xx(
    app: Starlette, client: httpx.AsyncClient, round_: int
) -> None:
    ticket = await add_ticket(app)
    statuses = [s.value for s in TicketStatus]

    async def update(n: int) -> int:
        data = {"status": statuses[n % 3], "title": f"Update {n}"}
        return (await client.post(f"/tickets/{ticket.id}/update", data=data)).status_code

    async def delete() -> int:
        return (await client.post(f"/tickets/{ticket.id}/delete")).status_code

    answers = await asyncio.gather(
        *(update(n) for n in range(16)), delete(), *(update(n) for n in range(16, 32))
    )

    assert set(answers) <= {303, 404}, answers
    assert answers[16] == 303  # the delete
    assert await ticket_count(app) == 0


async def test_concurrent_deletes_of_one_ticket_succeed_exactly_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)

    answers = await asyncio.gather(*(client.post(f"/tickets/{ticket.id}/delete") for _ in range(8)))

    assert sorted(a.status_code for a in answers) == [303] + [404] * 7


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/tickets/" + "a" * 300, id="300-characters"),
        pytest.param("/tickets/" + "a" * 5000, id="5000-characters"),
        pytest.param("/tickets/%00", id="nul"),
        pytest.param("/tickets/" + "a" * 300 + "/update", id="update"),
        pytest.param("/fragments/tickets/" + "a" * 5000 + "/row", id="row"),
        pytest.param("/tickets/6F9619FF-8B86-D011-B42D-00CF4FC964FF", id="not-our-spelling"),
    ],
)
async def test_ids_that_are_not_ticket_ids_are_404(client: httpx.AsyncClient, path: str) -> None:
    got = await client.get(path)
    posted = await client.post(path.removesuffix("/update") + "/delete")

    assert got.status_code == 404
    assert posted.status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"title": "Nul\x00byte", "content": "x"}, "title", id="nul-title"),
        pytest.param({"title": "Bell\x07", "content": "x"}, "title", id="bell-title"),
        pytest.param({"title": "Two\nlines", "content": "x"}, "title", id="newline-title"),
        pytest.param({"title": "ok", "content": "Nul\x00"}, "content", id="nul-content"),
        pytest.param({"title": "ok", "content": "Esc\x1b[31m"}, "content", id="escape-content"),
    ],
)
async def test_control_characters_in_a_field_are_422_and_change_nothing(
    app: Starlette, client: httpx.AsyncClient, fields: dict[str, str], field: str
) -> None:
    ticket = await add_ticket(app)

    created = await client.post("/tickets", data=fields)
    updated = await client.post(f"/tickets/{ticket.id}/update", data=fields)

    assert (created.status_code, updated.status_code) == (422, 422)
    assert "holds a control character" in created.text
    assert f'id="{field}-error"' in updated.text
    assert await ticket_count(app) == 1


async def test_a_description_keeps_its_line_breaks_and_tabs(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/tickets", data={"title": "Lines", "content": "one\r\ntwo\n\tthree"}
    )

    assert response.status_code == 303
    assert await ticket_count(app) == 1


# -- ALLOWED_HOSTS ----------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.2", "localhost.evil.example", ""])
async def test_a_foreign_host_is_400_even_for_a_cached_page_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, host: str
) -> None:
    await client.get("/tickets")
    assert (await client.get("/tickets")).headers["x-cache"] == "HIT"
    foreign = {"Host": host, "Origin": f"http://{host}"}  # a DNS-rebound page: same-origin

    page = await client.get("/tickets", headers=foreign)
    created = await client.post("/tickets", data={"title": "t", "content": "c"}, headers=foreign)

    assert (page.status_code, created.status_code) == (400, 400)
    assert "Unknown host" in created.text
    assert await ticket_count(app) == 0


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1:8000"])
async def test_our_own_names_are_served_with_any_port(client: httpx.AsyncClient, host: str) -> None:
    assert (await client.get("/tickets", headers={"Host": host})).status_code == 200


def test_allowed_hosts_come_from_the_environment() -> None:
    assert Settings.from_env({}).allowed_hosts == ("127.0.0.1", "localhost")
    assert Settings.from_env({"ALLOWED_HOSTS": " a.example, [::1],"}).allowed_hosts == (
        "a.example",
        "[::1]",
    )


async def test_an_ipv6_host_and_the_wildcard(settings: Settings) -> None:
    for hosts, host, status in [(("[::1]",), "[::1]:8000", 200), (("*",), "any.example", 200)]:
        app = create_app(replace(settings, allowed_hosts=hosts))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
                assert (await http.get("/tickets", headers={"Host": host})).status_code == status


# -- /metrics ------------------------------------------------------------------------


async def test_metrics_are_for_loopback_clients_or_the_bearer_of_the_token(
    settings: Settings,
) -> None:
    app = create_app(replace(settings, metrics_token="s3cret"))
    async with app.router.lifespan_context(app):

        async def metrics_from(client: tuple[str, int], **headers: str) -> int:
            transport = httpx.ASGITransport(app=app, client=client)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
                return (await http.get("/metrics", headers=headers)).status_code

        assert await metrics_from(("127.0.0.1", 1)) == 200
        assert await metrics_from(("::1", 1)) == 200
        assert await metrics_from(("203.0.113.9", 1)) == 403
        assert await metrics_from(("203.0.113.9", 1), Authorization="Bearer s3cret") == 200
        assert await metrics_from(("203.0.113.9", 1), Authorization="Bearer wrong") == 403


async def test_without_a_token_only_loopback_reads_metrics(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.8", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        refused = await http.get("/metrics", headers={"Authorization": "Bearer "})

    assert refused.status_code == 403
    assert "cache_hits" not in refused.text


async def test_an_unknown_id_is_a_quiet_404(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"

    answers = [await client.get(f"/tickets/{missing}") for _ in range(3)]
    metrics_text = (await client.get("/metrics")).text

    assert [a.status_code for a in answers] == [404] * 3
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert "cache_render_errors_total 0.0" in metrics_text
