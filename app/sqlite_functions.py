"""SQL functions that every SQLite connection of the app gets.

Triggers and queries call them, so they must exist on each connection before
it runs anything: a feature registers its own when it is imported (the models
import them, and the migrations import the models), and ``app.db`` adds them
to each new connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

registered: dict[str, tuple[int, Callable[..., Any]]] = {}


def register(name: str, arity: int, function: Callable[..., Any]) -> None:
    registered[name] = (arity, function)
