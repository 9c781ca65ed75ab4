"""The names of dependencies: what a render read, what a write moved.

One function per kind, so that reads and writes cannot spell one apart
(the table in ``app/deps/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table


def table(of: Table) -> str:
    """Anything in the table: what raw SQL that declares nothing depends on."""
    return of.name


def row(of: Table, key: Sequence[object]) -> str:
    """One row, by its primary key's values."""
    if len(key) == 1:  # nearly always: a render names many rows
        return f"{of.name}:{_text(key[0])}"
    return f"{of.name}:{','.join(_text(value) for value in key)}"


def members(of: Table) -> str:
    """Which rows the table holds (inserts and deletes move it)."""
    return f"{of.name}?"


def members_where(column: Column[Any], value: object) -> str:
    """Which rows hold ``value`` in a membership column."""
    return f"{column.table.name}?{column.name}={_text(value)}"


def members_by(column: Column[Any]) -> str:
    """Which rows hold each value of a membership column: moved when a write
    changed it without saying from what (a bulk UPDATE)."""
    return f"{column.table.name}?{column.name}"


def changed(column: Column[Any]) -> str:
    """The column's values, row by row (an UPDATE that changes one moves it)."""
    return f"{column.table.name}.{column.name}"


def _text(value: object) -> str:
    return (
        value if isinstance(value, str) else str(getattr(value, "value", value))
    )  # an enum by its value
