"""The app's front door (app/main.py): repeats, then the Host check, then the cache.

Driven through ``create_app`` itself, as a server drives it.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from app.cache import Cache
from app.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Repeats need a store that can tell that nothing moved: memory, or Redis
    with its near copy (without one, only Redis knows, and nothing is kept)."""
    if not settings.cache_url.startswith("redis"):
        return settings
    joiner = "&" if "?" in settings.cache_url else "?"
    return replace(settings, cache_url=f"{settings.cache_url}{joiner}near=1")


def counted_lookups(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key the cache is asked for from now on: a repeat asks for none."""
    cache: Cache = app.state.cache
    lookups: list[str] = []
    lookup = cache.lookup

    async def counted(key: str, *, fresh_only: bool = False) -> object:
        lookups.append(key)
        return await lookup(key, fresh_only=fresh_only)

    monkeypatch.setattr(cache, "lookup", counted)
    return lookups


async def test_a_repeated_request_is_answered_again_without_asking_the_cache(
    app: Starlette, visitor: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = counted_lookups(app, monkeypatch)
    await visitor.get("/tickets")  # MISS: rendered and stored
    hit = await visitor.get("/tickets")  # HIT: read, and kept
    asked = len(lookups)
    again = [await visitor.get("/tickets") for _ in range(3)]

    assert hit.headers["x-cache"] == "HIT"
    assert all(r.content == hit.content and r.headers == hit.headers for r in again)
    assert len(lookups) == asked


async def test_a_signed_in_person_is_answered_again_with_their_holes_until_a_write(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = counted_lookups(app, monkeypatch)
    for _ in range(3):  # a MISS, a HIT, and a HIT asked again: kept (app/cache/repeats.py)
        await client.get("/tickets")
    asked = len(lookups)
    again = await client.get("/tickets")
    repeat_lookups = len(lookups) - asked
    await client.post("/tickets", data={"title": "New one", "content": "c"})
    after = await client.get("/tickets")

    assert repeat_lookups == 0 and "Signed in as" in again.text
    assert "New one" in after.text  # the write moved the mark: read again


async def test_a_repeat_is_never_answered_to_a_host_that_did_not_pass_the_check(
    app: Starlette, visitor: httpx.AsyncClient
) -> None:
    await visitor.get("/tickets")
    kept = await visitor.get("/tickets")  # kept, for Host: localhost, which passed
    foreign = [await visitor.get("/tickets", headers={"Host": "evil.example"}) for _ in range(3)]
    ours = await visitor.get("/tickets")

    assert [r.status_code for r in foreign] == [400, 400, 400]
    assert (ours.status_code, ours.content) == (200, kept.content)
