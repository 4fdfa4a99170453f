"""Durable per-source key/value state (sync cursors, last processed ids) in ``source_state``.

Sources that poll a platform (the WeCom customer-service ``sync_msg`` cursor, for instance) keep
their position here so that a restart resumes where it stopped instead of replaying 3 days.
Values are short strings; store JSON yourself if you need structure.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from livebot.chat.models import SourceState
from livebot.storage.base import utcnow
from livebot.storage.engine import Database


async def get(db: Database, source_id: str, key: str) -> str | None:
    """The stored value, or ``None`` when nothing was stored yet."""
    async with db.engine.connect() as conn:
        query = select(SourceState.value).where(SourceState.source_id == source_id, SourceState.key == key)
        return (await conn.execute(query)).scalar_one_or_none()


async def put(db: Database, source_id: str, key: str, value: str) -> None:
    """Insert or replace the value, committed before returning."""
    dialect = postgresql if db.backend == "postgresql" else sqlite
    now = utcnow()
    statement = dialect.insert(SourceState).values(source_id=source_id, key=key, value=value, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[SourceState.source_id, SourceState.key],
        set_={"value": statement.excluded.value, "updated_at": now},
    )
    async with db.engine.begin() as conn:
        await conn.execute(statement)
