"""What other areas may use of auth: people's display names (for pages that show who did what)."""

from __future__ import annotations

from sqlalchemy import select

from livebot.auth.models import User
from livebot.storage.engine import Database

__all__ = ["display_names"]


async def display_names(db: Database) -> dict[str, str]:
    """Username → the name people see (the username where none is set)."""
    async with db.sessions() as session:
        return {u.username: u.display_name or u.username for u in (await session.scalars(select(User))).all()}
