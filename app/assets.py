"""Static files under fingerprinted URLs, which browsers may keep for a year.

``/static/app.css`` is linked as ``/static/app.1f2e3d4c5b6a.css``: the name
carries a digest of the content, so a changed file is a new URL and the old
one may be cached forever (``immutable``). The plain name still answers,
revalidated on each use (``no-cache``), for anything linked by hand.

Text files are compressed once each, at the strongest levels, by the first
request that asks for one (in a worker thread: the event loop never waits on
it), and kept: brotli where the browser accepts it, else gzip, as pages are
(app/cache/encoding.py). htmx goes out in 16 KB instead of 52. Not at start:
that cost every process 0.9 s of CPU before it answered anything, most of
them (a test's server, a worker of a cluster) never asked for a static file.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import partial
from pathlib import Path, PurePosixPath

import brotli  # type: ignore[import-untyped]  # ships no type hints
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.settings import ROOT

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_CHARS = 12
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".json", ".txt", ".map"})
MIN_COMPRESS_BYTES = 1024  # below this, an encoding's overhead eats what it saves


class FingerprintedStatic(StaticFiles):
    """``StaticFiles`` that also serves each file under its fingerprinted name."""

    def __init__(self, directory: Path, prefix: str = "/static") -> None:
        super().__init__(directory=directory)
        self.prefix = prefix
        self.fingerprinted: dict[str, str] = {}  # app.css -> app.1f2e3d4c5b6a.css
        self._originals: dict[str, str] = {}  # and back
        self._compressible: dict[str, bytes] = {}  # app.css -> its content at start
        self._encoded: dict[str, tuple[tuple[str, bytes], ...]] = {}  # app.css -> (br, gzip)
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                name = file.relative_to(directory).as_posix()
                content = file.read_bytes()
                if file.suffix in COMPRESSIBLE and len(content) >= MIN_COMPRESS_BYTES:
                    self._compressible[name] = content
                digest = hashlib.sha256(content).hexdigest()[:DIGEST_CHARS]
                plain = PurePosixPath(name)
                fingerprinted = plain.with_name(f"{plain.stem}.{digest}{plain.suffix}").as_posix()
                self.fingerprinted[name] = fingerprinted
                self._originals[fingerprinted] = name

    def url(self, name: str) -> str:
        """The URL to link ``name`` (a path under the directory) by."""
        return f"{self.prefix}/{self.fingerprinted[name]}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        original = self._originals.get(PurePosixPath(path).as_posix())
        name = original or PurePosixPath(path).as_posix()
        response = await super().get_response(name, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = FOREVER if original else REVALIDATE
            if name in self._compressible:
                response.headers["Vary"] = "Accept-Encoding"
                if response.status_code == 200 and scope["method"] == "GET":
                    encoded = await self._encodings(name)
                    return self._encoded_answer(response, encoded, Headers(scope=scope))
        return response

    async def _encodings(self, name: str) -> tuple[tuple[str, bytes], ...]:
        """``name``'s stored encodings, made by the first request that needs them
        (two at once may both make them: the same bytes, kept once)."""
        encoded = self._encoded.get(name)
        if encoded is None:
            encoded = await run_in_threadpool(partial(compress, self._compressible[name]))
            self._encoded[name] = encoded
        return encoded

    @staticmethod
    def _encoded_answer(
        plain: Response, encoded: tuple[tuple[str, bytes], ...], request: Headers
    ) -> Response:
        """The stored encoding the browser accepts (best first), else the plain file."""
        accepted = accepted_encodings(request.get("accept-encoding", ""))
        for encoding, body in encoded:
            if encoding in accepted:
                headers = {k: v for k, v in plain.headers.items() if k != "content-length"}
                headers["Content-Encoding"] = encoding
                if "etag" in headers:  # one validator per representation
                    headers["etag"] = headers["etag"].rstrip('"') + f'-{encoding}"'
                return Response(body, headers=headers)
        return plain


def compress(content: bytes) -> tuple[tuple[str, bytes], ...]:
    """``content`` in each coding we serve, best first, at its strongest level."""
    return (
        ("br", brotli.compress(content, quality=11)),
        ("gzip", gzip.compress(content, compresslevel=9, mtime=0)),
    )


def accepted_encodings(header: str) -> frozenset[str]:
    """The codings ``Accept-Encoding`` allows (``q`` above 0), by name."""
    accepted = set()
    for item in header.lower().split(","):
        coding, _, params = item.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding.strip() and q > 0:
            accepted.add(coding.strip())
    return frozenset(accepted)


static_files = FingerprintedStatic(ROOT / "static")  # mounted by app.main, linked by templates
