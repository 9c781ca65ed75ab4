"""A stop signal runs the app's callback, then the server's own handler, and only
while the app runs (app/stop_signal.py); tests/cluster/test_server.py stops a
real server with streams open."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from app.stop_signal import on_stop_signal


@pytest.fixture
def server_handler() -> Iterator[list[int]]:
    """A Python handler for SIGTERM, as uvicorn installs: the signals it got."""
    got: list[int] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        got.append(signum)

    before = signal.signal(signal.SIGTERM, handle)
    try:
        yield got
    finally:
        signal.signal(signal.SIGTERM, before)


async def test_the_callback_runs_on_the_loop_and_the_server_still_hears_the_signal(
    server_handler: list[int],
) -> None:
    called = asyncio.Event()
    server_handle = signal.getsignal(signal.SIGTERM)

    with on_stop_signal(called.set):
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(called.wait(), timeout=5)
        assert server_handler == [signal.SIGTERM]

    assert signal.getsignal(signal.SIGTERM) is server_handle  # as it was, once the app ends


async def test_a_signal_the_server_does_not_handle_in_python_is_left_alone() -> None:
    plain = (signal.SIG_DFL, signal.default_int_handler)  # a process's own, as under granian
    before = signal.signal(signal.SIGTERM, plain[0]), signal.signal(signal.SIGINT, plain[1])
    try:
        with on_stop_signal(lambda: None):
            assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == plain
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])


async def test_off_the_main_thread_nothing_is_chained(server_handler: list[int]) -> None:
    def enter() -> object:
        with on_stop_signal(lambda: None):
            return signal.getsignal(signal.SIGTERM)

    async def in_a_thread() -> object:
        return enter()

    server_handle = signal.getsignal(signal.SIGTERM)
    seen = await asyncio.to_thread(asyncio.run, in_a_thread())
    assert seen is server_handle


async def test_an_app_that_ends_under_another_still_hands_the_signal_on(
    server_handler: list[int],
) -> None:
    """Two apps of one process (a test's) whose lifespans end out of order."""
    first_called, second_called = asyncio.Event(), asyncio.Event()
    server_handle = signal.getsignal(signal.SIGTERM)

    first = on_stop_signal(first_called.set)
    first.__enter__()
    with on_stop_signal(second_called.set):
        first.__exit__(None, None, None)  # the first app ends; the second still runs
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(second_called.wait(), timeout=5)
    assert server_handler == [signal.SIGTERM]  # through both handlers
    assert not first_called.is_set()  # the app that ended was not called

    assert signal.getsignal(signal.SIGTERM) is not server_handle  # the first's, handing on
    signal.raise_signal(signal.SIGTERM)
    assert server_handler == [signal.SIGTERM, signal.SIGTERM]
