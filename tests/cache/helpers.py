"""Helpers shared by the cache library's tests (test modules never import each other)."""

from __future__ import annotations

import asyncio

from app.cache import cache_tag

# -- the engine's doubles: a clock and a render ---------------------------------------


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Renderer:
    """A render that counts its calls, tags itself and can be held at a gate."""

    def __init__(self, *tags: str, body: str = "v") -> None:
        self.tags = tags
        self.body = body
        self.calls = 0
        self.started = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        cache_tag(*self.tags)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"{self.body}{self.calls}"
