"""What a person does over HTTP, as the public contract shows it: sign up, create a ticket.

Each helper posts the app's own form, as a browser without JavaScript would,
and reads its answer (a session cookie; the new ticket's row on the list page).
"""

from __future__ import annotations

import functools
import re
import ssl
import time
import uuid
from typing import Any

import httpx
from markupsafe import escape

from app.cache.edge import REPURGE_AFTER_SECONDS


@functools.cache
def _shared_tls() -> ssl.SSLContext:
    """One TLS context for the plain clients below, made on first use (not at
    import: most importers never make one): httpx makes one per client
    otherwise, loading the CA bundle into it (20 ms of CPU a client, measured),
    though these speak plain HTTP to loopback, and a browser test makes dozens."""
    return httpx.create_ssl_context()


def plain_client(base_url: str, **options: Any) -> httpx.Client:
    """An HTTP client of ``base_url`` (a 10 s timeout unless told) that makes no
    TLS context of its own."""
    return httpx.Client(base_url=base_url, verify=_shared_tls(), **{"timeout": 10, **options})


# The public contract: the list holds one element id="ticket-<id>" per ticket, with its title.
_ROW_ID = re.compile(r'id="ticket-([0-9a-f-]{36})"')


def ticket_id_in(page: str, title: str) -> str:
    """The id of the one ticket titled ``title`` on a list page."""
    shown = re.compile(rf">\s*{re.escape(str(escape(title)))}\s*<")
    rows = list(_ROW_ID.finditer(page))
    ends = [row.start() for row in rows[1:]] + [len(page)]
    found = {
        row[1] for row, end in zip(rows, ends, strict=True) if shown.search(page, row.end(), end)
    }
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} tickets titled {title!r} on the list page")
    return found.pop()


def _listed(created: httpx.Response) -> str:
    if created.status_code != 303 or created.headers["location"].startswith("/login"):
        raise RuntimeError(f"create answered {created.status_code}:\n{created.text[:500]}")
    return str(created.url.join(created.headers["location"]))


TEST_PASSWORD = "a test password, long enough"


def sign_up(client: httpx.Client, base_url: str = "", name: str = "Ada") -> str:
    """Make an account over HTTP (the server's first is the admin); ``client`` keeps
    its session cookie (sent to every port of the host). Returns the session token."""
    answer = client.post(f"{base_url}/signup", data=_account(name))
    return _session_of(answer)


async def sign_up_async(client: httpx.AsyncClient, base_url: str = "", name: str = "Ada") -> str:
    """``sign_up`` for an async client."""
    answer = await client.post(f"{base_url}/signup", data=_account(name))
    return _session_of(answer)


def _account(name: str) -> dict[str, str]:
    # The name may hold spaces ("Soak 3"); an email's local part may not.
    local = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "someone"
    email = f"{local}-{uuid.uuid4().hex[:8]}@example.com"
    return {"name": name, "email": email, "password": TEST_PASSWORD}


def _session_of(answer: httpx.Response) -> str:
    if answer.status_code != 303 or "session" not in answer.cookies:
        raise RuntimeError(f"sign-up answered {answer.status_code}:\n{answer.text[:500]}")
    return answer.cookies["session"]


def create_ticket(
    client: httpx.Client, base_url: str = "", title: str = "A ticket", content: str = "x"
) -> str:
    """Create a ticket as a plain form post would (303 to the list); return its id.

    The id is read from the list page the answer leads to (newest first), so
    ``title`` should be one no other ticket on that page has.
    """
    created = client.post(f"{base_url}/tickets", data={"title": title, "content": content})
    listing = client.get(_listed(created))
    listing.raise_for_status()
    return ticket_id_in(listing.text, title)


async def create_ticket_async(
    client: httpx.AsyncClient, base_url: str = "", title: str = "A ticket", content: str = "x"
) -> str:
    """``create_ticket`` for an async client."""
    created = await client.post(f"{base_url}/tickets", data={"title": title, "content": content})
    listing = await client.get(_listed(created))
    listing.raise_for_status()
    return ticket_id_in(listing.text, title)


def held_by_edge(
    http: httpx.Client, url: str, reads: int = 6, headers: dict[str, str] | None = None
) -> bool:
    """Whether the edge in front of ``http`` holds ``url`` within ``reads`` reads.

    A write's spare purge (app/cache/edge.py, ``REPURGE_AFTER_SECONDS`` after
    it) can take a page out once more after it was read; the next read puts
    it back. Each recent write can cost one more miss, never more.
    """
    return any(
        http.get(url, headers=headers).headers.get("cache-status", "").endswith("edge; hit")
        for _ in range(reads)
    )


def held_past_spare_purge(
    http: httpx.Client, url: str, written_at: float, headers: dict[str, str] | None = None
) -> bool:
    """``held_by_edge`` once the spare purge of a write answered at ``written_at``
    (``time.monotonic()``) is behind: ``url`` is read until twice its delay has
    passed, so that what a test does next meets no purge of that write."""
    while time.monotonic() < written_at + 2 * REPURGE_AFTER_SECONDS:
        http.get(url, headers=headers)
    return held_by_edge(http, url, headers=headers)
