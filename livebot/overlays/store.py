"""Queries for overlay state and overlay tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from livebot.overlays.models import OverlayState, OverlayToken
from livebot.storage.base import rowcount, utcnow
from livebot.storage.engine import Database

TOKEN_PREFIX = "ovl_"


def token_digest(token: str) -> str:
    """Overlay tokens are long random strings, so SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def load_state(db: Database, session_id: int) -> tuple[dict[str, Any] | None, int]:
    """The stored control state and its version, or (None, 0) for a session never touched."""
    async with db.sessions() as session:
        row = await session.get(OverlayState, session_id)
        return (dict(row.state), row.version) if row is not None else (None, 0)


async def save_state(db: Database, session_id: int, state: dict[str, Any], version: int, by: str) -> None:
    """Insert or replace the state row (two instances may race to insert: the loser updates)."""
    values = {"state": dict(state), "version": version, "updated_by": by[:64], "updated_at": utcnow()}
    async with db.sessions() as session:
        changed = await session.execute(update(OverlayState).where(OverlayState.session_id == session_id).values(**values))
        if rowcount(changed):
            await session.commit()
            return
        session.add(OverlayState(session_id=session_id, **values))
        try:
            await session.commit()
            return
        except IntegrityError:
            await session.rollback()
        await session.execute(update(OverlayState).where(OverlayState.session_id == session_id).values(**values))
        await session.commit()


async def rotate_token(db: Database, session_id: int, by: str) -> str:
    """A new overlay token for the session; every older one stops working. Shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    now = utcnow()
    async with db.sessions() as session:
        await session.execute(
            update(OverlayToken)
            .where(OverlayToken.session_id == session_id, OverlayToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.add(OverlayToken(session_id=session_id, token_hash=token_digest(token), created_by=by[:64], created_at=now))
        await session.commit()
    return token


async def active_digests(db: Database, session_id: int) -> set[str]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(OverlayToken.token_hash).where(OverlayToken.session_id == session_id, OverlayToken.revoked_at.is_(None))
        )
        return set(rows)


async def token_valid(db: Database, session_id: int, token: str) -> bool:
    """True when ``token`` is the session's live overlay token (compared in constant time)."""
    if not token or len(token) > 128 or not token.isascii():
        return False
    digest = token_digest(token)
    return any(hmac.compare_digest(digest, known) for known in await active_digests(db, session_id))
