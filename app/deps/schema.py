"""What the schema says about dependencies: membership columns, tables no
render reads, tables that triggers keep (``Table.info``, next to the models)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Boolean, Column, Enum, Table, inspect

UNTRACKED = "untracked"  # Table.info: no render reads it, its writes move nothing
KEPT_BY = "kept_by"  # Table.info: (source table's name, column): triggers keep it from those
# Column.info: lists filter by this column's value, though it is no foreign key
# (a ticket's comments by ``comment.ticket_id``: no constraint, since a deleted
# ticket's comments stay for its undo).
MEMBERSHIP = "membership"


def table_of(model: type) -> Table:
    """A mapped class's table."""
    table: object = inspect(model).local_table
    assert isinstance(table, Table)
    return table


def plain(table: Table) -> Table:
    """The table itself, where an ORM statement names it annotated."""
    found = table.metadata.tables[table.fullname]
    return found


def is_membership(column: Column[Any]) -> bool:
    """Whether lists filter by the column's value, so that its memberships are
    worth naming one by one: an enum, a boolean, a foreign key or a column
    marked ``MEMBERSHIP`` (few values, shared by many rows). Others are read as
    ``changed`` columns."""
    if column.primary_key:
        return False
    if column.info.get(MEMBERSHIP, False):
        return True
    return isinstance(column.type, Enum | Boolean) or bool(column.foreign_keys)


def membership_columns(of: Table) -> list[Column[Any]]:
    return [column for column in of.columns if is_membership(column)]


def is_tracked(of: Table) -> bool:
    return not of.info.get(UNTRACKED, False)


def kept_from(source: Table) -> Iterator[tuple[Table, str]]:
    """The tables triggers keep from ``source``'s rows, with the column whose
    values name their rows (``ticket_count`` by ``ticket.status``)."""
    for other in source.metadata.tables.values():
        kept = other.info.get(KEPT_BY)
        if kept is not None and kept[0] == source.name:
            yield other, kept[1]
