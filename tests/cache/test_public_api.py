"""The library's public face: ``app.cache.__all__`` is what the package offers."""

from __future__ import annotations

import types

import app.cache


def test_everything_the_package_offers_is_listed_once_and_imports() -> None:
    offered = {
        name
        for name, value in vars(app.cache).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}  # from __future__
    star: dict[str, object] = {}
    exec("from app.cache import *", star)
    star.pop("__builtins__")

    assert len(app.cache.__all__) == len(set(app.cache.__all__))
    assert set(app.cache.__all__) == offered == set(star)
