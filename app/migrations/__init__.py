"""The schema's history, as Alembic migrations that run on start.

``Database.create_schema()`` calls :func:`upgrade` on a connection it holds
(and has locked), so every new or older database is brought to ``head``.
To write the next migration after changing app/models.py::

    python -m app.migrations revision --autogenerate -m "what changed"

(``DATABASE_URL`` names the database it compares against; review the file.)
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import app.models  # noqa: F401  (the tables, and the SQLite functions their triggers call)

HERE = Path(__file__).resolve().parent
# The revision that ``SQLModel.metadata.create_all`` used to make before
# migrations existed: such a database is stamped with it, then upgraded.
BASELINE = "0001"


# The full-text index is made by hand in 0002 (an FTS5 table and its shadow
# tables on SQLite, a generated tsvector column and its index on PostgreSQL):
# the models do not describe it, so autogenerate must not want it dropped.
SEARCH_INDEX_NAMES = ("ticket_search", "search_vector", "ix_ticket_search")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: compare everything but the search index."""
    return not (name or "").startswith(SEARCH_INDEX_NAMES)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (there is no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(HERE).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection) -> None:
    """Bring the database behind ``connection`` to the newest revision.

    Runs inside the caller's transaction (via ``AsyncConnection.run_sync``);
    committing, and keeping a second process out meanwhile, is the caller's.
    """
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "ticket" in tables and "alembic_version" not in tables:
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
