"""Where the app's sessions tell the cache what they read and what they wrote.

``TrackedSession`` is the sync session under every ``AsyncSession`` of the
app (``app/db.py``). Two SQLAlchemy events do the work:

- ``do_orm_execute``: a SELECT run while a render collects records its
  dependencies (``reads.py``; its rows are read once, then handed on); a bulk
  INSERT, UPDATE or DELETE of a tracked table is run with ``RETURNING`` the
  keys and membership columns of its rows, and queues what they moved;
- ``after_flush``: the ORM's own writes queue what they moved, from each
  object's values before and after (``writes.py``).

What a write moved is queued in the transaction's ``Commit``
(``Database.transaction`` puts it in ``session.info``): applied after COMMIT,
kept in the outbox with it, dropped by a rollback. A read served from the
session's identity map without SQL (``Session.get`` of an object the session
holds) records nothing: a render reads through a session of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import Result
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlmodel import Session as SQLModelSession

from app.cache import Commit, cache_tag, is_rendering
from app.deps import writes
from app.deps.reads import as_row, read_dependencies
from app.deps.schema import is_tracked, kept_from, membership_columns, plain

COMMIT = "cache.commit"  # Session.info: the transaction's Commit, where writes queue their moves


class TrackedSession(SQLModelSession):
    """A session whose reads and writes name their cache dependencies."""


class WriteOutsideTransaction(Exception):
    """A write through a session that is not ``Database.transaction``'s."""


@event.listens_for(TrackedSession, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> Result[Any] | None:
    statement = state.statement
    if state.is_select:
        if not is_rendering():
            return None  # an action's read: nothing to record
        frozen = state.invoke_statement().freeze()
        cache_tag(*read_dependencies(statement, state.parameters, frozen.data))  # type: ignore[arg-type]
        return frozen()
    if not isinstance(statement, Insert | Update | Delete):
        return None
    if isinstance(statement.table, Table) and is_tracked(statement.table):
        return _bulk(state, statement, plain(statement.table))
    return None


def _bulk(state: ORMExecuteState, statement: Insert | Update | Delete, table: Table) -> Result[Any]:
    """Run a bulk write with its rows read back, and queue what they moved."""
    wanted = [*table.primary_key.columns, *membership_columns(table)]
    wanted += [table.columns[by] for _, by in kept_from(table)]
    returning = statement._returning  # what the caller asked back, if anything
    frozen = state.invoke_statement(
        statement=statement if returning else statement.returning(*wanted)
    ).freeze()
    rows = [_values_of(row, table, wanted) for row in frozen.data]
    moved: set[str] = set()
    if isinstance(statement, Update):
        moved = writes.bulk_updated(table, rows)
    else:
        for values in rows:
            moved |= writes.inserted_or_deleted(table, values)
    _queue(state.session, moved)
    return frozen()


def _values_of(row: Any, table: Table, wanted: list[Any]) -> dict[str, Any]:
    """A returned row's values by column name: from the entity it holds, or its columns."""
    for value in as_row(row):
        found = inspect(value, raiseerr=False)
        if getattr(found, "mapper", None) is not None and found.mapper.local_table is table:
            return {
                column.name: getattr(value, found.mapper.get_property_by_column(column).key)
                for column in wanted
            }
    mapping = row._mapping
    missing = [column.name for column in wanted if column.name not in mapping]
    if missing:
        raise writes.UnknownMove(
            f"a bulk write of {table.name} returns {list(mapping)}: return its rows "
            f"(or at least {missing}) so that what it moved is known"
        )
    return {column.name: mapping[column.name] for column in wanted}


@event.listens_for(TrackedSession, "after_flush")
def _on_flush(session: Session, _flush: UOWTransaction) -> None:
    moved: set[str] = set()
    for instance in session.new:
        moved |= _moved(instance, writes.inserted_or_deleted, "new")
    for instance in session.deleted:
        moved |= _moved(instance, writes.inserted_or_deleted, "old")
    for instance in session.dirty:
        if session.is_modified(instance, include_collections=False):
            moved |= _updated(instance)
    _queue(session, moved)


def _moved(instance: object, how: Any, which: str) -> set[str]:
    state = inspect(instance)
    table = state.mapper.local_table
    if not isinstance(table, Table) or not is_tracked(table):
        return set()
    values = {}
    for column in table.columns:
        history = state.attrs[state.mapper.get_property_by_column(column).key].history
        held = history.non_deleted() if which == "new" else history.non_added()
        values[column.name] = held[0] if held else None
    moved: set[str] = how(table, values)
    return moved


def _updated(instance: object) -> set[str]:
    state = inspect(instance)
    table = state.mapper.local_table
    if not isinstance(table, Table) or not is_tracked(table):
        return set()
    key, old, new = {}, {}, {}
    for column in table.columns:
        history = state.attrs[state.mapper.get_property_by_column(column).key].history
        if column.primary_key:
            key[column.name] = (history.non_added() or history.added)[0]
        if history.added and history.added[:1] != history.deleted[:1]:  # set, and changed
            new[column.name] = history.added[0]
            if history.deleted:
                old[column.name] = history.deleted[0]
    return writes.updated(table, key, old, new) if new else set()


def _queue(session: Session, moved: set[str]) -> None:
    if not moved:
        return
    commit: Commit | None = session.info.get(COMMIT)
    if commit is None:
        raise WriteOutsideTransaction(
            "a write through a session that Database.transaction did not open: "
            "what it moved would reach no cache"
        )
    for dependency in sorted(moved):
        commit.add(dependency)
