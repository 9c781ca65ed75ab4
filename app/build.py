"""The build id: a digest of the code and templates that render pages.

A shared cache keeps each build's entries apart (``create_store(generation=)``),
so a deploy never serves a page that the previous templates rendered, while
invalidations still reach old and new processes alike.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

from app.settings import ROOT

RENDERING = ("app/**/*.py", "templates/**/*.html")


def build_id(root: Path = ROOT, patterns: Iterable[str] = RENDERING) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for pattern in patterns for p in root.glob(pattern)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@functools.cache
def this_build() -> str:
    """The build id of the code this process runs, digested once: its files do not
    change under a running process (a deploy, or a reload, starts new ones)."""
    return build_id()
