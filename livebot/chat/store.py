"""Queries over stored chat events (exports read through here, streaming; catch-up of consumers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Text, cast, func, select

from livebot.chat.models import StoredEvent
from livebot.storage.engine import Database
from livebot.topics import ChatStored, chat_stored

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
    """Stored events in storage order, fetched ``FETCH_ROWS`` at a time (never all in memory);
    ``raw`` comes as the stored JSON text, never parsed (whatever a payload holds, it is passed on)."""
    columns = EXPORT_COLUMNS + ((cast(StoredEvent.raw, Text).label("raw"),) if with_raw else ())
    query = select(*columns).order_by(StoredEvent.id)
    if source is not None:
        query = query.where(StoredEvent.source == source)
    if session_id is not None:
        query = query.where(StoredEvent.session_id == session_id)
    async with db.engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=FETCH_ROWS))
        async for row in result:
            yield row


UNENRICHED = (StoredEvent.kind == "comment", StoredEvent.is_question.is_(None), StoredEvent.text != "")
"""What the FAQ stage has not enriched yet (its flush claims rows by ``is_question IS NULL``)."""
ID_CHUNK = 500


async def unenriched_among(db: Database, pks: Collection[int]) -> list[StoredEvent]:
    """The comments among ``pks`` that are still not enriched, oldest first."""
    wanted = sorted(set(pks))
    found: list[StoredEvent] = []
    async with db.sessions() as session:
        for start in range(0, len(wanted), ID_CHUNK):
            part = wanted[start : start + ID_CHUNK]
            found += (await session.scalars(select(StoredEvent).where(StoredEvent.id.in_(part), *UNENRICHED))).all()
    return sorted(found, key=lambda row: row.id)


async def recent_unenriched(db: Database, newest: int, since: datetime, limit: int) -> list[StoredEvent]:
    """Comments among the ``newest`` stored events, received since ``since``, never enriched (a
    range of the primary key, so the look stays cheap however long the table is)."""
    async with db.sessions() as session:
        top = await session.scalar(select(func.max(StoredEvent.id)))
        if top is None:
            return []
        query = (select(StoredEvent).where(StoredEvent.id > top - newest, StoredEvent.received_at >= since, *UNENRICHED)
                 .order_by(StoredEvent.id).limit(limit))
        return list((await session.scalars(query)).all())


async def newest_id(db: Database) -> int:
    """The highest primary key stored so far (0 for an empty table)."""
    async with db.sessions() as session:
        return await session.scalar(select(func.max(StoredEvent.id))) or 0


async def settled_unenriched(db: Database, after: int, before: datetime, span: int, limit: int
                             ) -> tuple[list[StoredEvent], int]:
    """Comments among the next ``span`` events stored after key ``after`` and received before
    ``before`` that nobody enriched, oldest first, and the key the next look starts after (each look
    reads a bounded range of the primary key, however long the previous one was put off)."""
    settled = (select(StoredEvent.id).where(StoredEvent.id > after, StoredEvent.received_at < before)
               .order_by(StoredEvent.id).limit(span).subquery())
    async with db.sessions() as session:
        top = await session.scalar(select(func.max(settled.c.id)))
        if top is None:
            return [], after
        query = (select(StoredEvent).where(StoredEvent.id > after, StoredEvent.id <= top, *UNENRICHED)
                 .order_by(StoredEvent.id).limit(limit))
        rows = list((await session.scalars(query)).all())
    return rows, rows[-1].id if len(rows) == limit else top


def stored_message(row: StoredEvent) -> ChatStored:
    """The ``chat.stored`` message of a stored row (``merged_into`` is not kept in the table: None)."""
    return chat_stored(
        pk=row.id, source=row.source, external_id=row.external_id, platform=row.platform, channel=row.channel,
        kind=row.kind, ts=row.ts, user_id=row.user_id, user_name=row.user_name, text=row.text, count=row.count,
        viewers=row.viewers, value=row.value, session_id=row.session_id, site_id=row.site_id,
        segment_id=row.segment_id, hidden=row.hidden, flags=list(row.flags or []), merged_count=row.merged_count,
    )
