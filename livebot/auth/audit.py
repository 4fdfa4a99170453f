"""The audit log: account changes, exports of viewer data and erasures, with who did them and when."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy import select

from livebot.auth.models import AuditEntry
from livebot.storage.engine import Database


async def record(db: Database, actor: str, action: str, target: str = "", **detail: Any) -> None:
    async with db.sessions() as session:
        session.add(AuditEntry(actor=actor[:128], action=action[:32], target=target[:256], detail=detail))
        await session.commit()


async def recent(db: Database, actions: tuple[str, ...] = (), limit: int = 200) -> list[AuditEntry]:
    """The newest entries first, optionally only some actions."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actions:
        query = query.where(AuditEntry.action.in_(actions))
    async with db.sessions() as session:
        return list(await session.scalars(query))


def cli_actor() -> str:
    """``cli:<login name>`` for commands run on the server."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
