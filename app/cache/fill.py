"""``FillHoles``: the holes of answers that did not come from the cache, filled on their way out.

The cache fills the holes of what it answers itself (``app/cache/answers.py``);
an action's row, a page re-rendered with a form's messages or an error page
pass here instead (``app/cache/holes.py`` says what a hole is).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cache.holes import SURROGATE_CONTROL, Holes, fills_esi, join, split


class FillHoles:
    """Fills the holes of answers that did not come from the cache: an action's
    row, a page re-rendered with a form's messages, an error page.

    Installed inside ``CacheMiddleware``, so a HIT never passes here; any
    other answer of the cache (``Cache-Status``) filled its own and is left alone.
    """

    def __init__(self, app: ASGIApp, holes: Holes) -> None:
        self.app = app
        self.holes = holes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        esi = fills_esi(dict(scope["headers"]).get(b"surrogate-capability"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_filled(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if _fillable(message["headers"]):
                    start = message  # held until the body is whole
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            pieces = split(body)
            if len(pieces) > 1:
                if esi:
                    headers.append(SURROGATE_CONTROL)
                else:
                    visitor = await self.holes.visitor_of(scope)
                    body = join(pieces, visitor, self.holes.fill)
                    if visitor is not None:
                        headers = _private(headers)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_filled)


def _fillable(headers: list[tuple[bytes, bytes]]) -> bool:
    """HTML that the cache did not answer (a cached answer, ``Cache-Status``,
    fills its own holes) and that is not compressed."""
    html = False
    for name, value in headers:
        if name == b"content-type":
            html = value.startswith(b"text/html")
        elif name in (b"content-encoding", b"cache-status"):
            return False
    return html


def _private(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A known visitor's answer is theirs alone: no shared cache may keep it."""
    kept = [(k, v) for k, v in headers if k != b"cache-control"]
    kept.append((b"cache-control", b"private, no-cache"))
    return kept
