"""Account operations shared by the CLI and the admin page, each recorded in the audit log."""

from __future__ import annotations

from livebot.auth import audit, store
from livebot.storage.engine import Database


async def apply_change(db: Database, action: str, name: str, password: str, actor: str) -> None:
    """``disable``, ``enable`` or ``reset-password`` for user ``name``."""
    if action == "reset-password":
        await store.set_password(db, name, password)
    else:
        await store.set_disabled(db, name, action == "disable")
    await audit.record(db, actor, f"user.{action}", name)


async def revoke_and_record(db: Database, token_id: int, actor: str) -> None:
    row = await store.revoke_token(db, token_id)
    await audit.record(db, actor, "token.revoke", f"{token_id}", role=row.role, name=row.name)
