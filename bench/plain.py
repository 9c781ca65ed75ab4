"""A lean HTTP client for timed requests: one kept-alive connection of the
standard library's client, the cookies it was given sent as they are.

httpx's cookie jar, URL and header models cost about half a millisecond a
request here (0.6 ms for a cached page against this client's 0.16 ms,
measured), which a timed write -> fresh round would count as the app's time:
a browser's network stack spends a small fraction of that.
"""

from __future__ import annotations

import gzip
import http.client
from urllib.parse import urlencode, urlsplit

import brotli  # type: ignore[import-untyped]  # ships no type hints


class Plain:
    """Requests on one kept-alive connection; bodies come back as sent (br,
    as a browser asks), for the caller to decode when its clock allows."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        self.headers = {"Accept-Encoding": "gzip, br"}
        if cookies:
            self.headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())

    def send(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, bytes]:
        """Status, Content-Encoding and the body as it came."""
        headers, body = dict(self.headers), None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body, headers)
            answer = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the connection while it was idle (uvicorn does
            # after 5 s), before this request: once more, on a new one, as a
            # browser does.
            self.connection.close()
            self.connection.request(method, path, body, headers)
            answer = self.connection.getresponse()
        return answer.status, answer.getheader("Content-Encoding", ""), answer.read()

    def fetch(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """Status and the body as text, decoded at once."""
        status, encoding, body = self.send(method, path, form)
        return status, text(encoding, body)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Plain:
        return self

    def __exit__(self, *raised: object) -> None:
        self.close()


def text(encoding: str, body: bytes) -> str:
    """A body as sent with ``encoding`` (br, gzip or none), as text."""
    unpacked: bytes = {"br": brotli.decompress, "gzip": gzip.decompress, "": bytes}[encoding](body)
    return unpacked.decode()
