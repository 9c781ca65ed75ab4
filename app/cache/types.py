"""Aliases shared by the cache's modules (as Starlette keeps its ``types.py``).

They sit below every module that uses them, so that no two of those modules
need each other for a type: ``repeats.py`` keeps the answers the middleware
gives, and ``entry.py`` keeps the answers made of an entry, without either
importing the HTTP layer.
"""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]  # lower-case names, as ASGI sends them
Answer = tuple[int, Headers, bytes]  # status, headers, body: one cached answer
# What one of an entry's answers depends on besides the entry: its cache
# status, the request's Accept-Encoding, the Vary it answers with, and whether
# an edge asks (one that fills holes itself; one that is told the tags).
AnswerKind = tuple[object, bytes | None, bytes, bool, bool]  # (status, encoding, vary, esi, tagged)
