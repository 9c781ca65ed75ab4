"""What the browser tests need, checked without Playwright, so that a missing
dependency is one clear failure (the other browser modules are then not collected)."""

from __future__ import annotations

import importlib.util
import os

HINT = "run `bash scripts/browser-deps` (scripts/test does)"


def test_playwright_is_installed() -> None:
    assert importlib.util.find_spec("playwright") is not None, f"no playwright package: {HINT}"


def test_chromium_is_installed() -> None:
    assert os.access("/usr/bin/chromium", os.X_OK), f"no /usr/bin/chromium: {HINT}"
