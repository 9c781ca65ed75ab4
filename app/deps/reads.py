"""What a SELECT depends on, from its structure, its parameters and its rows.

For each table it reads (its FROM, its joins, its subqueries):

- equalities on the whole primary key (``id = :x``, ``id IN (...)``) among the
  WHERE's top-level conjuncts pin it: the statement depends on those rows;
- otherwise it is scanned: it depends on the membership its equalities name
  (``ticket?status=OPEN``, or ``ticket?assignee_id=None`` for ``IS NULL`` on
  a membership column; the table's, ``ticket?``, when none is on a membership
  column), and on every row it returned;
- the columns its other conditions, joins and order read are ``changed``
  dependencies (a range, an ``OR``, a cursor), as are plain columns selected
  from a scanned table without their rows' keys;
- raw SQL (``text()``) depends on the columns a ``Reads`` around it declares,
  or else on every table of the statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Row, Table, inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ClauseElement,
    ColumnElement,
    Null,
    TextClause,
)
from sqlalchemy.sql.selectable import Join, Select
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType

from app.deps import names
from app.deps.schema import is_membership, is_tracked, plain


class Reads(ColumnElement[Any]):
    """Raw SQL in a WHERE, with the columns it reads: ``Reads(text(...),
    Ticket.search_text)`` depends on those columns (and the table's
    membership) instead of on anything in the table."""

    inherit_cache = True
    # Not Boolean: on a database without a boolean type SQLAlchemy would
    # compare a Boolean expression with 1, and the raw SQL's index with it.
    type = NullType()
    _traverse_internals = [  # noqa: RUF012  # SQLAlchemy's own declaration, as it names it
        ("clause", InternalTraversal.dp_clauseelement),
        ("columns", InternalTraversal.dp_clauseelement_tuple),
    ]

    def __init__(self, clause: ClauseElement, *columns: Any) -> None:
        self.clause = clause
        self.columns = tuple(inspect(column).expression for column in columns)


@compiles(Reads)
def _compile_reads(element: Reads, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clause, **kw)


@dataclass
class _Found:
    """What a walk over a statement found."""

    params: Mapping[str, Any]
    deps: set[str] = field(default_factory=set)
    tables: set[Table] = field(default_factory=set)  # every table read
    pinned: set[Table] = field(default_factory=set)  # read by primary key only
    joined: set[Table] = field(default_factory=set)  # by primary key, from a pinned row
    changed: set[Column[Any]] = field(default_factory=set)
    opaque: bool = False  # raw SQL that declares nothing


class UntrackedRead(Exception):
    """A render read a table its model says no render reads: its writes move
    nothing, so what the render showed could never be invalidated."""


def read_dependencies(
    statement: Select[Any], params: Mapping[str, Any] | None, rows: Sequence[Sequence[Any]]
) -> set[str]:
    """Every dependency of ``statement`` run with ``params``, which returned ``rows``."""
    found = _Found(params or {})
    _statement(statement, found)
    for selected in statement.column_descriptions:
        expression = selected["expr"]
        if not isinstance(expression, type):  # not an entity, whose rows come back whole
            _walk(_clause(expression), found)
    returned = _rows(rows, found.deps)
    found.deps.update(names.members(table) for table in found.joined - returned)
    found.deps.update(
        names.changed(column) for column in found.changed if plain(column.table) not in found.pinned
    )
    if found.opaque:
        found.deps.update(names.table(table) for table in found.tables)
    unread = sorted(table.name for table in found.tables if not is_tracked(table))
    if unread:
        raise UntrackedRead(f"a render read {', '.join(unread)}, which no render reads (untracked)")
    return found.deps


def _clause(expression: Any) -> ClauseElement:
    """A selected expression as SQL: an ORM attribute's column, or itself."""
    made = getattr(expression, "__clause_element__", None)
    clause: ClauseElement = made() if made is not None else expression
    return clause


def _statement(statement: Select[Any], found: _Found) -> None:
    """The dependencies of one SELECT (or subquery) on the tables it reads."""
    equal: dict[Column[Any], list[object]] = {}
    for condition in _conjuncts(statement.whereclause):
        pair = _equality(condition, found.params)
        if pair is None:
            _walk(condition, found)
        else:
            equal.setdefault(pair[0], []).extend(pair[1])
    tables: set[Table] = set()
    joins: list[tuple[Column[Any], Column[Any]]] = []
    for source in _froms(statement):
        tables.update(_tables_in(source))
        joins.extend(_join_keys(source))
        _walk(source, found)  # the columns its joins read
    for clause in (*statement._order_by_clauses, *statement._group_by_clauses):
        _walk(clause, found)
    for table in tables:
        key = table.primary_key.columns
        if len(key) == 1 and key[0] in equal:
            found.pinned.add(table)
            found.deps.update(names.row(table, [value]) for value in equal[key[0]])
    for near, far in joins:  # a row joined by its key to a pinned row is that row's
        if (
            plain(near.table) in found.pinned
            and _is_key(far)
            and plain(far.table) not in found.pinned
        ):
            found.pinned.add(plain(far.table))
            found.joined.add(plain(far.table))  # its rows come back; none: its membership
    for table in tables - found.pinned:
        chosen = [
            (column, values) for column, values in equal.items() if plain(column.table) is table
        ]
        members = [(column, values) for column, values in chosen if is_membership(column)]
        for column, values in members:
            found.deps.add(names.members_by(column))
            found.deps.update(names.members_where(column, value) for value in values)
        if not members:
            found.deps.add(names.members(table))
        found.changed.update(column for column, _ in chosen if not is_membership(column))


def _froms(statement: Select[Any]) -> Sequence[ClauseElement]:
    """What the statement reads from. ``get_final_froms`` works it out through
    the ORM's compile state, a third of a millisecond; a statement that names
    no FROM and no join of its own reads from its columns' tables, which
    ``columns_clause_froms`` gives at once (the private attributes only say
    whether there is more)."""
    if statement._from_obj or getattr(statement, "_setup_joins", ()):
        return statement.get_final_froms()
    return statement.columns_clause_froms


def _join_keys(source: ClauseElement) -> Iterable[tuple[Column[Any], Column[Any]]]:
    """Each ``a.x = b.y`` of the joins in ``source``, both ways round."""
    if not isinstance(source, Join):
        return
    yield from _join_keys(source.left)
    yield from _join_keys(source.right)
    for condition in _conjuncts(source.onclause):
        if (
            isinstance(condition, BinaryExpression)
            and condition.operator is operators.eq
            and isinstance(condition.left, Column)
            and isinstance(condition.right, Column)
        ):
            yield condition.left, condition.right
            yield condition.right, condition.left


def _is_key(column: Column[Any]) -> bool:
    key = column.table.primary_key.columns
    return len(key) == 1 and key[0].key == column.key


def _tables_in(element: ClauseElement) -> Iterable[Table]:
    if isinstance(element, Table):
        yield plain(element)
        return
    for child in element.get_children():
        if not isinstance(child, Select):
            yield from _tables_in(child)


def _conjuncts(where: ColumnElement[Any] | None) -> list[ColumnElement[Any]]:
    if where is None:
        return []
    if isinstance(where, BooleanClauseList) and where.operator is operators.and_:
        return [part for clause in where.clauses for part in _conjuncts(clause)]
    return [where]


def _equality(
    condition: ColumnElement[Any], params: Mapping[str, Any]
) -> tuple[Column[Any], list[object]] | None:
    """``column = value`` or ``column IN (values)`` with values bound: the column and
    them; ``column IS NULL`` on a membership column: the column and None (a write
    names a row's NULL there as the value None, ``app/deps/writes.py``)."""
    if not isinstance(condition, BinaryExpression):
        return None
    left, right = condition.left, condition.right
    if condition.operator is operators.is_ and isinstance(right, Null):
        return (left, [None]) if isinstance(left, Column) and is_membership(left) else None
    if not isinstance(left, Column) or not isinstance(right, BindParameter):
        return None
    value = params.get(right.key, right.effective_value)
    if condition.operator is operators.eq and value is not None:
        return left, [value]
    if condition.operator is operators.in_op and isinstance(value, list | tuple):
        return left, list(value)
    return None


def _walk(element: ClauseElement, found: _Found) -> None:
    """The tables, columns and raw SQL under ``element``; a subquery is read as
    a statement of its own (its conditions may pin or scan its tables)."""
    if isinstance(element, Reads):
        found.changed.update(element.columns)
        return
    if isinstance(element, TextClause):
        found.opaque = True
        return
    if isinstance(element, Table):
        found.tables.add(plain(element))
        return
    if isinstance(element, Column) and isinstance(element.table, Table):
        found.changed.add(element)
        return
    if isinstance(element, Select):
        _statement(element, found)
        for selected in element.selected_columns:
            _walk(selected, found)
        return
    for child in element.get_children():
        _walk(child, found)


def as_row(result: Any) -> Sequence[Any]:
    """A result row as a sequence: SQLAlchemy hands a single entity's rows over bare."""
    return result if isinstance(result, Row | tuple) else (result,)


def rows_rendered(values: Iterable[object]) -> set[str]:
    """The rows of the entities a template is given: what it shows of them
    depends on them, whether it read them itself or was handed them (a list's
    row, rendered from what the list read)."""
    deps: set[str] = set()
    _rows([tuple(values)], deps)
    return deps


def _rows(rows: Sequence[Sequence[Any]], deps: set[str]) -> set[Table]:
    """Each returned entity's row; the tables they are of. (Per row of every
    read: the instance state is taken as ``inspect`` would, without its checks.)"""
    tables: set[Table] = set()
    for result in rows:
        for value in as_row(result):
            state = getattr(value, "_sa_instance_state", None)
            if state is None or state.identity is None:
                continue
            table = state.mapper.local_table  # the table itself, never annotated
            tables.add(table)
            deps.add(names.row(table, state.identity))
    return tables
