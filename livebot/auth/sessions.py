"""Server-side login sessions: the cookie holds a random id, the ``auth_sessions`` row holds the rest.

Logout deletes the row, a password change or disabling a user deletes all of theirs, so a
copied cookie stops working at once instead of living out ``session_max_age``. Only the
SHA-256 of the id is stored, so a read of the table gives no usable cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from aiohttp import web
from aiohttp_session import AbstractStorage, Session, SessionData
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from livebot.auth.models import AuthSession
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

COOKIE = "livebot_session"


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class DatabaseSessionStorage(AbstractStorage):
    def __init__(self, db: Callable[[], Database], *, max_age: int, secure: bool) -> None:
        super().__init__(cookie_name=COOKIE, max_age=max_age, httponly=True, secure=secure, samesite="Lax")
        self.db = db

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        if not cookie or len(cookie) > 128:
            return Session(None, data=None, new=True, max_age=self.max_age)
        async with self.db().sessions() as session:
            row = await session.scalar(select(AuthSession).where(AuthSession.id == digest(cookie), AuthSession.expires_at > utcnow()))
        if row is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        return Session(cookie, data=cast(SessionData, row.data), new=False, max_age=self.max_age)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        key = session.identity
        if session.empty:
            if key is not None:
                await revoke(self.db(), str(key))
            self.save_cookie(response, "", max_age=session.max_age)
            return
        if key is None:
            key = secrets.token_urlsafe(32)
        data: dict[str, Any] = dict(self._get_session_data(session))
        user_id = data.get("session", {}).get("user_id")
        await self.store(str(key), data, user_id if isinstance(user_id, int) else None)
        self.save_cookie(response, str(key), max_age=session.max_age)

    async def store(self, key: str, data: dict[str, Any], user_id: int | None) -> None:
        db = self.db()
        values = {"id": digest(key), "user_id": user_id, "data": data, "created_at": utcnow(),
                  "expires_at": utcnow() + timedelta(seconds=self.max_age or 0)}
        insert = pg_insert if db.backend == "postgresql" else sqlite_insert
        statement = insert(AuthSession).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[AuthSession.id],
            set_={"user_id": statement.excluded.user_id, "data": statement.excluded.data, "expires_at": statement.excluded.expires_at})
        async with db.sessions() as session:
            await session.execute(statement)
            await session.commit()


async def revoke(db: Database, session_id: str) -> None:
    """End one session (logout)."""
    async with db.sessions() as session:
        await session.execute(delete(AuthSession).where(AuthSession.id == digest(session_id)))
        await session.commit()


async def purge_expired(db: Database) -> int:
    async with db.sessions() as session:
        result = await session.execute(delete(AuthSession).where(AuthSession.expires_at <= utcnow()))
        await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
