"""Who a ticket is assigned to, as a form posts it: a person's id, ``me``
(whoever posts), or nothing for nobody."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException

from app.models import User, is_id

ME = "me"
UNKNOWN = "No member has this id: choose someone from the list, or nobody."


async def resolve(session: AsyncSession, posted: str, viewer_id: str) -> str | None:
    """The id of the person ``posted`` names (``None``: nobody); an unknown
    person is refused with 422 (the caller's transaction rolls back)."""
    if posted == "":
        return None
    if posted == ME:
        return viewer_id
    if not is_id(posted) or await session.get(User, posted) is None:
        raise HTTPException(422, UNKNOWN)
    return posted
