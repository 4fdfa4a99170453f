"""Queries over stored chat events (exports read through here, streaming)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Row, select

from livebot.chat.models import StoredEvent
from livebot.storage.engine import Database

EXPORT_COLUMNS = (
    StoredEvent.id, StoredEvent.external_id, StoredEvent.source, StoredEvent.platform, StoredEvent.channel,
    StoredEvent.kind, StoredEvent.ts, StoredEvent.received_at, StoredEvent.user_id, StoredEvent.user_name,
    StoredEvent.text, StoredEvent.count, StoredEvent.viewers, StoredEvent.value, StoredEvent.session_id,
    StoredEvent.site_id, StoredEvent.segment_id, StoredEvent.hidden, StoredEvent.flags, StoredEvent.merged_count,
)
FETCH_ROWS = 1000


async def stream_events(
    db: Database, source: str | None = None, session_id: int | None = None, with_raw: bool = False
) -> AsyncIterator[Row[Any]]:
    """Stored events in storage order, fetched ``FETCH_ROWS`` at a time (never all in memory)."""
    columns = EXPORT_COLUMNS + ((StoredEvent.raw,) if with_raw else ())
    query = select(*columns).order_by(StoredEvent.id)
    if source is not None:
        query = query.where(StoredEvent.source == source)
    if session_id is not None:
        query = query.where(StoredEvent.session_id == session_id)
    async with db.engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=FETCH_ROWS))
        async for row in result:
            yield row
