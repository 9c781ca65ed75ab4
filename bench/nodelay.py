"""uvicorn's own command line, with TCP_NODELAY back on for ``--workers N``.

    python -m bench.nodelay --factory app.main:create_app --workers 2 ...

With ``--workers N`` uvicorn's supervisor binds the listening socket itself
(``Config.bind_socket``) and leaves its ``proto`` at 0. Accepted sockets
inherit it, and asyncio turns TCP_NODELAY on only for sockets whose ``proto``
is IPPROTO_TCP. So Nagle's algorithm stays on, and on Linux every keep-alive
request after the first waits for the client's delayed ACK: about 40 ms each
(uvicorn issue #3149). A single worker is not affected (asyncio builds that
listener from getaddrinfo, which sets ``proto``).

This wraps ``bind_socket`` to hand back the same descriptor with ``proto`` set,
then runs ``uvicorn.main``. The workers get the socket pickled, ``proto``
included, so their accepted sockets get TCP_NODELAY like a single worker's.
Nothing else changes: same options, same supervisor, same workers.
"""

from __future__ import annotations

import socket

from uvicorn.config import Config
from uvicorn.main import main

_stock_bind_socket = Config.bind_socket


def bind_socket(self: Config) -> socket.socket:
    sock = _stock_bind_socket(self)
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
        return sock
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.set_inheritable(True)
    return fixed


def patch() -> None:
    Config.bind_socket = bind_socket  # type: ignore[method-assign]


if __name__ == "__main__":
    patch()
    main()
