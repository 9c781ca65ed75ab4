"""A bare ASGI callable that answers every request with one fixed response.

It sends exactly the status, headers and body that the cached ``GET /tickets``
sent (read from the JSON file named by ``BENCH_BARE_RESPONSE``), with no
framework at all, so under the same uvicorn settings it is the ceiling a
Python server reaches on this machine.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


def load_response(path: Path) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    spec = json.loads(path.read_text())
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in spec["headers"]]
    return spec["status"], headers, base64.b64decode(spec["body"])


def create_app() -> ASGIApp:
    status, headers, body = load_response(Path(os.environ["BENCH_BARE_RESPONSE"]))

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # Answer the lifespan protocol so uvicorn does not log a failed startup.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
