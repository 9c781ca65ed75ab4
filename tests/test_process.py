"""A started app's objects are out of the garbage collector's scans, and its young
generation is wider (app/process.py)."""

from __future__ import annotations

import gc

import pytest
from starlette.applications import Starlette

from app import process


async def test_a_started_app_is_frozen(app: Starlette) -> None:
    # Started by the fixture (its lifespan ran): it, and all it holds, is frozen,
    # unless an earlier app of this process was (then that one's start froze
    # everything imported and built before it, this app's kind of objects too).
    assert process._frozen
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == process.YOUNG_THRESHOLD


def test_frozen_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen: list[bool] = []
    thresholds: list[tuple[int, ...]] = []
    monkeypatch.setattr(process, "_frozen", False)
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(gc, "set_threshold", lambda *given: thresholds.append(given))
    assert process.freeze_start_up()
    assert not process.freeze_start_up()  # a second app: left to the collector
    assert frozen == [True]
    assert thresholds == [(process.YOUNG_THRESHOLD, 10, 10)]  # the older two as they were
