"""Fixtures of the cache library's HTTP tests: a ``Site`` and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.cache.helpers import Site, client_of


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def client(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(site.app) as client:
        yield client
