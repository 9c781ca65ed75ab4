"""Who a request comes from: its client's address, as throttles and ``/metrics`` see it.

``X-Forwarded-For`` is anyone's to write, so it is believed only from a
proxy we trust, and only as far back as proxies we trust go:

- the edge this app's ``scripts/run`` started (``EDGE_SECRET``): Varnish
  appends the address it was asked from, and marks its own requests with
  the secret they share (edge/tickets.vcl), which no other client knows.
  Being on loopback proves nothing: every local process is;
- the addresses or networks listed in ``TRUSTED_PROXIES`` (a load balancer
  in front), each of which appends the address it was asked from.

Walking the header from its right end, each address that a trusted proxy
appended is taken while it is itself a trusted proxy; the first that is not
is the client. Anything else (no trusted proxy, a value that is not an
address) leaves the peer's own address. The ASGI server's own handling of
the header is off (app/serve.py): it trusted any loopback client.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from starlette.requests import Request

from app.edge_contract import EDGE_SECRET_HEADER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` the app believes."""

    def __init__(self, proxies: Iterable[str] = (), edge_secret: str | None = None) -> None:
        self.networks: list[Network] = [ipaddress.ip_network(p, strict=False) for p in proxies]
        self.edge_secret = edge_secret.encode() if edge_secret else None

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def from_edge(self, request: Request) -> bool:
        given = request.headers.get(EDGE_SECRET_HEADER)
        if self.edge_secret is None or given is None:
            return False
        return hmac.compare_digest(given.encode(), self.edge_secret)

    def client_of(self, request: Request) -> str:
        """The address of whoever sent ``request``, through the proxies we trust."""
        client = request.client.host if request.client else ""
        if not (self.from_edge(request) or self.trusts(client)):
            return client
        hops = [
            hop.strip()
            for value in request.headers.getlist("x-forwarded-for")
            for hop in value.split(",")
        ]
        while hops:
            hop = hops.pop()
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return client  # not an address: the last proxy we trust sent it
            client = hop
            if not self.trusts(hop):
                break
        return client


def client_address(request: Request) -> str:
    """The client address of ``request``, by the app's ``TrustedProxies``."""
    proxies: TrustedProxies = request.app.state.proxies
    return proxies.client_of(request)
