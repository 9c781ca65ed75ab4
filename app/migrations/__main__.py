"""Alembic's command line over this package, with no alembic.ini.

python -m app.migrations revision --autogenerate -m "add priority"
python -m app.migrations current | history | upgrade head | downgrade -1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from alembic.config import CommandLine

from app.migrations import alembic_config


def main(argv: Sequence[str] | None = None) -> None:
    cli = CommandLine(prog="python -m app.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    cli.run_cmd(alembic_config(), options)


if __name__ == "__main__":
    main(sys.argv[1:])
