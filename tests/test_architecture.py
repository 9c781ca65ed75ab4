"""docs/architecture.md stays true: every name it gives in backticks exists."""

from __future__ import annotations

import importlib
import re

import pytest

from app.settings import ROOT

PAGE = ROOT / "docs" / "architecture.md"
DOTTED = re.compile(r"`(app(?:\.\w+)+)`")
FILE = re.compile(r"`((?:app|tests|static|templates)/[\w/.]*)`")


def _resolve(dotted: str) -> object:
    """The module, class, function or method a dotted name gives."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("dotted", sorted(set(DOTTED.findall(PAGE.read_text()))))
def test_every_name_the_page_gives_exists(dotted: str) -> None:
    assert _resolve(dotted) is not None


@pytest.mark.parametrize("path", sorted(set(FILE.findall(PAGE.read_text()))))
def test_every_file_the_page_gives_exists(path: str) -> None:
    assert (ROOT / path).exists()


def test_a_name_that_is_gone_is_caught() -> None:
    with pytest.raises(AttributeError):
        _resolve("app.cache.engine.Cache.no_such_method")
    with pytest.raises(ModuleNotFoundError):
        _resolve("application.nowhere")
