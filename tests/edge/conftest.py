"""The fixture most edge tests share: real Varnish before an app over SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.app_server import AppServer
from harness.servers import EdgeServer


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeServer]:
    """The edge, and the app behind it, which purges it before a write answers."""
    app = AppServer(
        tmp_path / "app.log", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'e.db'}"}
    )
    server = EdgeServer(tmp_path / "edge", app.port).start()
    try:
        app.env.update(server.app_env())
        app.start()
        yield server
    finally:
        app.stop()
        server.stop()
