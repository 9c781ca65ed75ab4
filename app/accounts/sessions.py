"""Server-side sessions: the cookie holds a random token; the database holds its
digest and whose it is. Signing out deletes the row, so a copied cookie stops
working too.

Cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when served over HTTPS.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.models import User, UserSession, utcnow

COOKIE = "session"
LIFETIME = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(session: AsyncSession, user: User) -> str:
    """A new session for ``user``; its token, for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=_digest(token), user_id=user.id, expires_at=utcnow() + LIFETIME))
    return token


async def user_of(session: AsyncSession, token: str | None) -> User | None:
    """Whose session ``token`` is, if it is one that has not ended."""
    if not token:
        return None
    found = await session.exec(
        select(User)
        .join(UserSession, col(UserSession.user_id) == col(User.id))
        .where(col(UserSession.id) == _digest(token))
        .where(col(UserSession.expires_at) > utcnow())
    )
    return found.first()


async def end(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.exec(delete(UserSession).where(col(UserSession.id) == _digest(token)))


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
