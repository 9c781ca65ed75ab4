"""What the app believes of its edge, and what the edge's answers carry: the real
server (uvicorn, as scripts/run serves it) behind the real Varnish.

The edge marks its requests with the secret it shares with the app, so the app
believes its ``X-Forwarded-For`` (each client's own throttle) and nobody
else's (a local process cannot rotate past it); the browser's policy is on what
the edge keeps and on what it says itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.accounts import throttle
from app.security_headers import CONTENT_SECURITY_POLICY
from harness.app_server import AppServer
from harness.servers import EdgeServer

WRONG = {"email": "ada@example.com", "password": "not the password"}


@dataclass
class Site:
    app: AppServer
    edge: EdgeServer

    def through_edge(self, address: str) -> httpx.Client:
        """A client of the edge, connecting from ``address`` (any of 127/8 is ours)."""
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=self.edge.base_url, transport=transport, timeout=30)

    def direct(self) -> httpx.Client:
        return httpx.Client(base_url=self.app.base_url, timeout=30)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    app = AppServer(
        tmp_path / "app.log", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}"}
    )
    edge = EdgeServer(tmp_path / "edge", app.port).start()
    try:
        app.env.update(edge.app_env())
        app.start()
        yield Site(app, edge)
    finally:
        app.stop()
        edge.stop()


def test_each_client_of_the_edge_is_throttled_apart_and_no_local_process_escapes(
    site: Site,
) -> None:
    with site.through_edge("127.0.0.2") as guesser, site.through_edge("127.0.0.3") as owner:
        guesses = [guesser.post("/login", data=WRONG) for _ in range(throttle.ACCOUNT_LIMIT + 1)]
        elsewhere = owner.post("/login", data=WRONG)
    with site.direct() as local:
        # a local process naming another address: believed by nobody
        posing = local.post("/login", data=WRONG, headers={"X-Forwarded-For": "127.0.0.2"})
        rotating = [
            local.post("/login", data=WRONG, headers={"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(throttle.ACCOUNT_LIMIT)
        ]

    assert [a.status_code for a in guesses] == [401] * throttle.ACCOUNT_LIMIT + [429]
    assert elsewhere.status_code == 401  # another client of the same edge
    assert posing.status_code == 401  # not the guesser's count: its own
    assert [a.status_code for a in rotating] == [401] * (throttle.ACCOUNT_LIMIT - 1) + [429]


def test_what_the_edge_keeps_and_what_it_says_itself_carry_the_policy(site: Site) -> None:
    with site.through_edge("127.0.0.1") as http:
        first = http.get("/tickets")
        kept = http.get("/tickets")
        partial = http.get("/tickets", headers={"HX-Request": "true"})
        missing = http.get("/tickets/no-such-ticket")
    with site.through_edge("127.0.0.2") as stranger:  # not the app's address: refused
        refused = stranger.request("PURGE", "/", headers={"xkey-purge": "*"})

    assert "edge; hit" in kept.headers.get("cache-status", "")
    for answer in (first, kept, partial, missing):
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert refused.status_code == 403
    assert "frame-ancestors 'self'" in refused.headers["content-security-policy"]
    assert refused.headers["x-content-type-options"] == "nosniff"
