"""What each row's server must answer before it is loaded, so that rows compare like with like.

A cached row must answer ``X-Cache: HIT`` with the very bytes of the
reference (the chosen server's cached page), from every worker; a dynamic row
``MISS`` every time; the bare app the same body and headers. Headers a server
adds by itself (``date``, ``server``) are left out of the comparison.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.pin import IDENTITY, from_each_worker
from harness.app_server import AppServer
from harness.client import sign_up

LIST = "/tickets"
# Every server adds these to every answer itself; the bare app must not send them twice.
SERVER_HEADERS = frozenset({"date", "server"})


def fetch(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET ``url``, uncompressed unless ``headers`` ask otherwise."""
    response = httpx.get(url, headers={**IDENTITY, **(headers or {})}, timeout=30.0)
    response.raise_for_status()
    return response


def comparable_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in response.headers.raw
        if name.decode("latin-1").lower() not in SERVER_HEADERS
    ]


def _x_cache(response: httpx.Response) -> str:
    return str(response.headers.get("x-cache", ""))


def cached(server: AppServer, headers: dict[str, str] | None = None) -> httpx.Response:
    """The cached page of ``server``: HIT after one warm request."""
    fetch(server.base_url + LIST, headers)
    response = fetch(server.base_url + LIST, headers)
    if _x_cache(response) != "HIT":
        raise RuntimeError(f"{server.server}: cached GET /tickets: X-Cache {_x_cache(response)}")
    return response


def signed_up(server: AppServer, name: str = "Writer") -> str:
    """A new account on ``server``, signed in: its session token (any account may edit)."""
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        return sign_up(client, name=name)


def accounts(server: AppServer) -> tuple[str, str]:
    """Two accounts on ``server``, signed in: the admin (the first one), who may
    delete the seeded tickets, and a reader, who sees the list as most people
    do (no Delete but on their own tickets). Their session tokens. The reader's
    page must be a HIT of the shared part, with its holes filled."""
    admin, reader = signed_up(server, "Admin"), signed_up(server, "Reader")
    cookie = {"Cookie": f"session={reader}"}
    fetch(server.base_url + LIST, cookie)
    response = fetch(server.base_url + LIST, cookie)
    if _x_cache(response) != "HIT" or "Signed in as <strong>Reader</strong>" not in response.text:
        raise RuntimeError(f"{server.server}: signed-in GET /tickets: X-Cache {_x_cache(response)}")
    return admin, reader


def same_hit(server: AppServer, reference: httpx.Response) -> str:
    """A HIT from every worker of ``server``, with the reference's bytes; says what it checked."""
    fetch(server.base_url + LIST)  # the one warm request, on whichever worker
    for response in from_each_worker(server.base_url, LIST, workers=server.workers):
        response.raise_for_status()
        if _x_cache(response) != "HIT":
            raise RuntimeError(f"{server.server} GET /tickets: X-Cache {_x_cache(response)}")
        same_bytes(response, reference, server.server)
    where = "HIT" if server.workers == 1 else f"HIT from each of {server.workers} workers"
    return f"{where}, same bytes"


def same_bytes(response: httpx.Response, reference: httpx.Response, who: str) -> None:
    if response.content != reference.content:
        raise RuntimeError(f"{who}: body differs from the reference's")
    if comparable_headers(response) != comparable_headers(reference):
        raise RuntimeError(
            f"{who}: headers differ from the reference's:\n"
            f"{comparable_headers(response)}\n{comparable_headers(reference)}"
        )


def dynamic(server: AppServer) -> None:
    seen = [_x_cache(fetch(server.base_url + LIST)) for _ in range(3)]
    if seen != ["MISS"] * 3:
        raise RuntimeError(f"dynamic GET /tickets: X-Cache {seen}, expected MISS each time")


def save_response(response: httpx.Response, path: Path, sent: bytes | None = None) -> None:
    """The file bench.bare_app answers from: status, headers and body of
    ``response`` (``sent``: the body as it went over the wire, when compressed)."""
    spec = {
        "status": response.status_code,
        "headers": comparable_headers(response),
        "body": base64.b64encode(response.content if sent is None else sent).decode(),
    }
    path.write_text(json.dumps(spec))


@dataclass(frozen=True)
class Sent:
    """What went over the wire for one request: its Content-Encoding and body size."""

    encoding: str  # "identity" when the answer has none
    size: int  # bytes of the body as sent (compressed, if it was)
    x_cache: str


def sent(url: str, headers: dict[str, str] | None = None) -> Sent:
    """GET ``url`` (after one warm request) and measure the body as sent, not decoded."""
    fetch(url, headers)
    response, body = as_sent(url, headers)
    return Sent(response.headers.get("content-encoding", "identity"), len(body), _x_cache(response))


def as_sent(url: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes]:
    """GET ``url``: the answer and its body as it went over the wire (compressed, if it was)."""
    with httpx.stream(
        "GET", url, headers={**IDENTITY, **(headers or {})}, timeout=30.0
    ) as response:
        response.raise_for_status()
        return response, b"".join(response.iter_raw())
