"""What a write moved, from the rows it changed, before and after.

An insert or a delete moves its row, the table's membership, and the
membership of each value its membership columns hold; an update moves its
row, each column it changed, and the memberships of a membership column's old
and new values. Tables that triggers keep from the written table move with
the values that name their rows (``ticket_count`` with the statuses). Every
write also moves the table itself, what raw SQL that declares nothing read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table

from app.deps import names
from app.deps.schema import is_membership, kept_from

Values = Mapping[str, Any]  # a row's values, by column name


class UnknownMove(Exception):
    """A write that cannot say what it moved: made another way, it can."""


def inserted_or_deleted(table: Table, values: Values) -> set[str]:
    moved = {names.table(table), names.members(table), _row(table, values)}
    for column in table.columns:
        if is_membership(column):
            moved.add(names.members_where(column, values[column.name]))
    for kept, by in kept_from(table):
        moved |= _kept(kept, [values[by]])
    return moved


def updated(table: Table, key: Values, old: Values, new: Values) -> set[str]:
    """``old`` and ``new`` hold the changed columns only; an old value not
    known (not loaded) is left out of ``old``."""
    moved = {names.table(table), _row(table, key)}
    for name, value in new.items():
        column = table.columns[name]
        moved.add(names.changed(column))
        if is_membership(column):
            moved.add(names.members_where(column, value))
            moved.add(
                names.members_where(column, old[name]) if name in old else names.members_by(column)
            )
    for kept, by in kept_from(table):
        if by in new:
            if by not in old:
                raise UnknownMove(f"{table.name}.{by} changed from a value not loaded")
            moved |= _kept(kept, [old[by], new[by]])
    return moved


def bulk_updated(table: Table, keys: Iterable[Values]) -> set[str]:
    """A bulk UPDATE says which rows it changed (``RETURNING``), not what they
    held: every membership column may have moved, from any value."""
    if any(True for _ in kept_from(table)):
        raise UnknownMove(
            f"a bulk UPDATE of {table.name} cannot say which rows of the tables "
            "triggers keep from it moved: update its rows through the ORM"
        )
    moved = {names.table(table), *(_row(table, key) for key in keys)}
    for column in table.columns:
        if not column.primary_key:
            moved.add(names.changed(column))
        if is_membership(column):
            moved.add(names.members_by(column))
    return moved


def _row(table: Table, values: Values) -> str:
    return names.row(table, [values[column.name] for column in table.primary_key.columns])


def _kept(kept: Table, values: Iterable[object]) -> set[str]:
    return {names.table(kept), names.members(kept), *(names.row(kept, [v]) for v in values)}
