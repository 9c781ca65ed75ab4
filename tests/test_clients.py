"""Who a request comes from: ``X-Forwarded-For`` believed only from the edge that
proves itself, or from a listed proxy; never from any loopback client."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from app.accounts import throttle
from app.clients import TrustedProxies
from app.edge_contract import EDGE_SECRET_HEADER
from app.main import create_app
from app.serve import server_command
from app.settings import Settings
from tests.helpers import app_client

SECRET = "the edge's own secret"


def request(peer: str, *headers: tuple[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]
    return Request({"type": "http", "client": (peer, 1), "headers": raw})


def xff(value: str) -> tuple[str, str]:
    return ("X-Forwarded-For", value)


EDGE = (EDGE_SECRET_HEADER, SECRET)


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        pytest.param("127.0.0.1", [xff("203.0.113.7")], "127.0.0.1", id="loopback-forging"),
        pytest.param("198.51.100.1", [xff("203.0.113.7")], "198.51.100.1", id="stranger"),
        pytest.param("127.0.0.1", [EDGE, xff("203.0.113.7")], "203.0.113.7", id="edge"),
        pytest.param(
            "127.0.0.1", [EDGE, xff("6.6.6.6, 203.0.113.7")], "203.0.113.7", id="edge-forged-left"
        ),
        pytest.param(
            "127.0.0.1", [(EDGE_SECRET_HEADER, "guess"), xff("203.0.113.7")], "127.0.0.1", id="bad"
        ),
        pytest.param("127.0.0.1", [EDGE], "127.0.0.1", id="edge-no-header"),
        pytest.param("127.0.0.1", [EDGE, xff("not-an-ip")], "127.0.0.1", id="edge-garbage"),
        pytest.param("10.0.0.9", [xff("203.0.113.7")], "203.0.113.7", id="listed-proxy"),
        pytest.param(
            "10.0.0.9", [xff("6.6.6.6, 203.0.113.7, 10.0.0.8")], "203.0.113.7", id="proxy-chain"
        ),
        pytest.param(
            "10.0.0.9", [xff("6.6.6.6"), xff("203.0.113.7")], "203.0.113.7", id="two-headers"
        ),
        pytest.param("10.0.0.9", [xff("10.0.0.8")], "10.0.0.8", id="only-proxies"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str, headers: list[tuple[str, str]], client: str
) -> None:
    proxies = TrustedProxies(["10.0.0.8/31"], edge_secret=SECRET)

    assert proxies.client_of(request(peer, *headers)) == client


def test_without_a_secret_nobody_is_the_edge() -> None:
    proxies = TrustedProxies()

    assert proxies.client_of(request("127.0.0.1", (EDGE_SECRET_HEADER, ""), xff("1.2.3.4"))) == (
        "127.0.0.1"
    )
    assert not proxies.trusts("not an address")


def test_the_server_leaves_x_forwarded_for_to_the_app() -> None:
    assert "--no-proxy-headers" in server_command("uvicorn")


@pytest.fixture
async def behind_edge(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(dataclasses.replace(settings, edge_secret=SECRET))
    async with app.router.lifespan_context(app):
        yield app


async def test_a_local_process_cannot_rotate_past_the_throttle(behind_edge: Starlette) -> None:
    wrong = {"email": "ada@example.com", "password": "not the password"}
    async with app_client(behind_edge) as local:
        answers = [
            await local.post("/login", data=wrong, headers={"X-Forwarded-For": f"203.0.113.{n}"})
            for n in range(throttle.ACCOUNT_LIMIT + 1)
        ]

    assert [a.status_code for a in answers] == [401] * throttle.ACCOUNT_LIMIT + [429]


async def test_the_edge_tells_its_clients_apart(behind_edge: Starlette) -> None:
    wrong = {"email": "ada@example.com", "password": "not the password"}
    async with app_client(behind_edge) as edge:  # from loopback, as the edge is
        answers = [
            await edge.post(
                "/login", data=wrong, headers={EDGE_SECRET_HEADER: SECRET, "X-Forwarded-For": ip}
            )
            for ip in [f"203.0.113.{n}" for n in range(throttle.ACCOUNT_LIMIT + 1)]
        ]

    # eleven places, one try each: none is over its limit
    assert [a.status_code for a in answers] == [401] * (throttle.ACCOUNT_LIMIT + 1)
