"""Who is asking: the person behind a request's session cookie, or nobody.

Every page's holes and every write's permission need it, so it is not a
database query per request: a session's person is a cache entry of its own
(key ``session <digest>``), which depends on the session's row and its
person's, as any read does (app/deps). Signing out deletes the row: its
dependency moves like any write's, after COMMIT and before its answer, in
every process (through the outbox when the store is cut off), so an old
cookie stops working.
A cookie that names no live session is not stored (any string would fill the
cache): it asks the database each time, and is nobody.

Reading that entry on every request is still a store read on a page's hot
path (bench/README.md has what it cost), so each process also remembers whom
a token names (``Remembered``), and forgets it the moment the session's row
moves here or is heard moving elsewhere (``Cache.on_invalidate``; a lost
channel forgets everyone). While the cache hears every bump (``Cache.mark``
is not None: a memory store, or Redis with its channel live, the condition
its near copy is trusted on), that is exact, and a token is remembered until
it is forgotten so. Otherwise (no channel heard, a bump owed) it is trusted
for at most ``REMEMBER_SECONDS`` between reads of the entry: a process cut
off from the news trusts a signed-out cookie no longer than that, the
staleness bound every read has (DESIGN.md, Faults).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.types import Scope

from app import edge_contract
from app.accounts import sessions
from app.cache import EVERYTHING, Cache, Decoding, cookie_of

NOBODY: frozenset[str] = frozenset()
SCOPE_KEY = "tickets.viewer"  # the answer, kept in the request's scope
REMEMBER_SECONDS = 1.0
REMEMBER_MAX = 10_000  # tokens remembered at most; past that, all are forgotten


@dataclass(frozen=True, slots=True)
class Viewer:
    id: str
    name: str
    is_admin: bool
    expires_at: float  # wall-clock seconds: the session's end
    key: str = field(init=False)  # app/cache/holes.py: same key, same holes
    cookie: str = field(init=False)  # their viewer cookie (app/edge_contract.py)
    own: frozenset[str] = field(init=False)  # the one audience a person is in: their own

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.id} {int(self.is_admin)} {self.name}")
        object.__setattr__(
            self, "cookie", edge_contract.viewer_cookie(self.id, is_admin=self.is_admin)
        )
        object.__setattr__(self, "own", frozenset({self.id}))

    def may_delete(self, author_id: str | None) -> bool:
        """A ticket can be deleted by its author or by an admin: the rule the
        edge applies to the viewer cookie (app/edge_contract.py), so both agree."""
        return edge_contract.may_delete(self.cookie, author_id)

    def audiences(self, named: frozenset[str]) -> frozenset[str]:
        """Which holes' audiences (app/holes.py: authors) of ``named`` they are
        in, as ``may_delete`` decides: an admin is in all; a person, in their own."""
        if self.is_admin:
            return named
        return self.own if self.id in named else NOBODY

    def may_edit(self, author_id: str | None, assignee_id: str | None) -> bool:
        """A ticket's fields can be changed by its author, its assignee or an admin."""
        return (assignee_id is not None and self.id == assignee_id) or self.may_delete(author_id)


def _decode(body: bytes) -> Viewer:
    return Viewer(*json.loads(body))


VIEWER = Decoding(_decode)  # a session entry's body, decoded once per entry (Entry.decoded)


class Remembered:
    """Whom each token named when this process last read its session's entry."""

    def __init__(self) -> None:
        self._by_token: dict[bytes, tuple[Viewer, float]] = {}  # -> (viewer, read at)
        # A dependency -> the tokens it names: the session's row (signed out),
        # and the person's (renamed: the header shows the new name at once).
        self._tokens_of: dict[str, set[bytes]] = {}

    def get(self, token: bytes, *, hears_all: bool = False) -> Viewer | None:
        """Whom ``token`` named; past ``REMEMBER_SECONDS`` only if this process
        ``hears_all`` bumps (so that it would have been forgotten if it moved)."""
        found = self._by_token.get(token)
        if found is None:
            return None
        if not hears_all and time.monotonic() - found[1] > REMEMBER_SECONDS:
            return None
        return found[0]

    def put(self, token: bytes, viewer: Viewer) -> None:
        if len(self._by_token) >= REMEMBER_MAX:
            self.forget(EVERYTHING)
        self._by_token[token] = (viewer, time.monotonic())
        session_row = sessions.dependency(sessions.digest(token.decode("latin-1")))
        for dependency in (session_row, sessions.person_dependency(viewer.id)):
            self._tokens_of.setdefault(dependency, set()).add(token)

    def forget(self, tags: frozenset[str]) -> None:
        """A ``Cache.on_invalidate`` listener: sessions whose tag moved are read again."""
        if tags >= EVERYTHING:
            self._by_token.clear()
            self._tokens_of.clear()
            return
        for tag in tags:
            for token in self._tokens_of.pop(tag, ()):
                self._by_token.pop(token, None)


async def viewer_of(scope: Scope) -> Viewer | None:
    """The signed-in person of this request, or None; worked out once per request."""
    if SCOPE_KEY not in scope:
        token = cookie_of(scope, sessions.COOKIE)
        viewer = None
        if token is not None:
            state = scope["app"].state
            remembered: Remembered = state.viewers
            viewer = remembered.get(token, hears_all=state.cache.mark() is not None)
            if viewer is None:
                viewer = await _of_token(scope, token.decode("latin-1"))
                if viewer is not None:
                    remembered.put(token, viewer)
        scope[SCOPE_KEY] = viewer
    found: Viewer | None = scope[SCOPE_KEY]
    if found is not None and found.expires_at <= time.time():
        return None
    return found


class _NoSession(HTTPException):
    """A cookie naming no live session: declined (``client_error``), so not stored."""

    def __init__(self) -> None:
        super().__init__(401)


async def _of_token(scope: Scope, token: str) -> Viewer | None:
    state = scope["app"].state
    cache: Cache = state.cache
    session_digest = sessions.digest(token)

    async def read() -> str:
        async with state.db.session() as session:
            found = await sessions.person_of(session, session_digest)
        if found is None:
            raise _NoSession()
        user, expires_at = found
        return json.dumps([user.id, user.name, user.is_admin, expires_at.timestamp()])

    # A binding of its own: this entry must not take the tags of the page
    # whose request asks (a revalidatePath of that page is no sign-out).
    with cache.bound():
        try:
            served = await cache.serve(f"session {session_digest}", read)
        except _NoSession:
            return None
    if served.entry is None:  # not stored (the store is down): decoded for this request
        return VIEWER.decode(served.body)
    return served.entry.decoded(VIEWER)
