"""Server-side sessions: the cookie holds a random token; the database holds its
digest and whose it is. Signing out deletes the row, so a copied cookie stops
working too.

Cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when served over HTTPS.

A second cookie, ``viewer``, says who the session's person is in a way an
edge cache can use without asking us (app/edge_contract.py). It is no secret
and proves nothing: the edge only uses it to choose which shared copy of a
ticket's Delete hole to show; every write is still checked against the
session. It lives and goes with the session cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app import edge_contract
from app.deps import names
from app.deps.schema import table_of
from app.models import User, UserSession, utcnow

COOKIE = edge_contract.SESSION_COOKIE
VIEWER_COOKIE = edge_contract.VIEWER_COOKIE
LIFETIME = timedelta(days=30)


def digest(token: str) -> str:
    """What the database keeps of a token (and what names its session elsewhere)."""
    return hashlib.sha256(token.encode()).hexdigest()


def dependency(session_digest: str) -> str:
    """What a read of this session depends on: its row (app/deps), which moves
    when the session ends (app/accounts/viewer.py forgets it then)."""
    return names.row(table_of(UserSession), [session_digest])


def person_dependency(user_id: str) -> str:
    """What a read of a session's person depends on besides the session: the
    person's row, which a rename moves (app/accounts/viewer.py forgets them then)."""
    return names.row(table_of(User), [user_id])


async def start(session: AsyncSession, user: User) -> str:
    """A new session for ``user``; its token, for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=digest(token), user_id=user.id, expires_at=utcnow() + LIFETIME))
    return token


async def user_of(session: AsyncSession, token: str | None) -> User | None:
    """Whose session ``token`` is, if it is one that has not ended."""
    found = await person_of(session, digest(token)) if token else None
    return found[0] if found else None


async def person_of(session: AsyncSession, session_digest: str) -> tuple[User, datetime] | None:
    """Whose live session this is, and until when."""
    found = await session.exec(
        select(User, UserSession.expires_at)
        .join(UserSession, col(UserSession.user_id) == col(User.id))
        .where(col(UserSession.id) == session_digest)
        .where(col(UserSession.expires_at) > utcnow())
    )
    row = found.first()
    return None if row is None else (row[0], row[1])


async def end(session: AsyncSession, token: str | None) -> None:
    """End the session of ``token``: its row goes, and every process forgets it
    (the row's dependency moves after COMMIT, like any write's)."""
    if token:
        await session.exec(delete(UserSession).where(col(UserSession.id) == digest(token)))


def set_cookies(request: Request, response: Response, token: str, user: User) -> None:
    viewer = edge_contract.viewer_cookie(user.id, is_admin=user.is_admin)
    for name, value in ((COOKIE, token), (VIEWER_COOKIE, viewer)):
        response.set_cookie(
            name,
            value,
            max_age=int(LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


def clear_cookies(request: Request, response: Response) -> None:
    for name in (COOKIE, VIEWER_COOKIE):
        response.delete_cookie(
            name, httponly=True, samesite="lax", secure=request.url.scheme == "https"
        )
