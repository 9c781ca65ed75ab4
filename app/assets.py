"""Static files under fingerprinted URLs, which browsers may keep for a year.

``/static/app.css`` is linked as ``/static/app.1f2e3d4c5b6a.css``: the name
carries a digest of the content, so a changed file is a new URL and the old
one may be cached forever (``immutable``). The plain name still answers,
revalidated on each use (``no-cache``), for anything linked by hand.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.settings import ROOT

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_CHARS = 12


class FingerprintedStatic(StaticFiles):
    """``StaticFiles`` that also serves each file under its fingerprinted name."""

    def __init__(self, directory: Path, prefix: str = "/static") -> None:
        super().__init__(directory=directory)
        self.prefix = prefix
        self.fingerprinted: dict[str, str] = {}  # app.css -> app.1f2e3d4c5b6a.css
        self._originals: dict[str, str] = {}  # and back
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                name = file.relative_to(directory).as_posix()
                digest = hashlib.sha256(file.read_bytes()).hexdigest()[:DIGEST_CHARS]
                plain = PurePosixPath(name)
                fingerprinted = plain.with_name(f"{plain.stem}.{digest}{plain.suffix}").as_posix()
                self.fingerprinted[name] = fingerprinted
                self._originals[fingerprinted] = name

    def url(self, name: str) -> str:
        """The URL to link ``name`` (a path under the directory) by."""
        return f"{self.prefix}/{self.fingerprinted[name]}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        original = self._originals.get(PurePosixPath(path).as_posix())
        response = await super().get_response(original or path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = FOREVER if original else REVALIDATE
        return response


static_files = FingerprintedStatic(ROOT / "static")  # mounted by app.main, linked by templates
