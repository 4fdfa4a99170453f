"""Recompute minute rows from stored events: a whole session, or just some minutes of it.

``livebot engagement rebuild`` and the post-session report call :func:`rebuild`; the live
figures call :func:`recompute` for the minutes new chat touched. Both run the same
:class:`Folder` over the same stored facts, so their rows agree exactly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from livebot.engagement import store
from livebot.engagement.attribution import Attributor
from livebot.engagement.figures import AskFacts, Bucket, EventFacts, Key, fold, minute_of, row_of
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)


@dataclass
class Folder:
    """Incremental :func:`fold`: time-ordered event batches into the same buckets, then the asks."""

    attributor: Attributor
    buckets: dict[Key, Bucket] = field(default_factory=dict)
    digests: dict[tuple[str, str], str] = field(default_factory=dict)
    events: int = 0

    def add_events(self, batch: Sequence[EventFacts]) -> None:
        self.events += len(batch)
        fold(batch, (), self.attributor, self.buckets, self.digests)

    def add_asks(self, asks: Iterable[AskFacts]) -> None:
        fold((), asks, self.attributor, self.buckets, self.digests)

    def rows(self, session_id: int) -> list[dict[str, Any]]:
        now = utcnow()
        return [row_of(session_id, key, bucket, now) for key, bucket in sorted(self.buckets.items())]


@dataclass(frozen=True)
class RebuildResult:
    session_id: int
    events: int
    rows: int
    minutes: int


async def rebuild(db: Database, session_id: int) -> RebuildResult:
    """Replace every minute row of a session with figures recomputed from its stored events."""
    await store.get_session(db, session_id)
    folder = Folder(await store.attributor(db, session_id))
    async for batch in store.stream_events(db, session_id):
        await asyncio.to_thread(folder.add_events, batch)  # CPU work off the event loop
    await asyncio.to_thread(folder.add_asks, await store.asks(db, session_id))
    rows = folder.rows(session_id)
    await store.replace_minutes(db, session_id, rows)
    minutes = len({row["minute"] for row in rows})
    logger.info("engagement session=%s rebuilt events=%d rows=%d minutes=%d", session_id, folder.events, len(rows), minutes)
    return RebuildResult(session_id, folder.events, len(rows), minutes)


async def recompute(db: Database, session_id: int, minutes: Iterable[datetime], attributor: Attributor | None = None) -> int:
    """Recompute the rows of some minutes of a session; returns how many rows they now have."""
    wanted = frozenset(minute_of(m) for m in minutes)
    if not wanted:
        return 0
    ranges = store.minute_ranges(wanted)
    folder = Folder(attributor or await store.attributor(db, session_id))
    async for batch in store.stream_events(db, session_id, ranges):
        folder.add_events(batch)
    folder.add_asks(await store.asks(db, session_id, ranges))
    rows = folder.rows(session_id)
    for attempt in (1, 2):
        try:
            await store.replace_minutes(db, session_id, rows, ranges)
            break
        except IntegrityError:
            # Another instance wrote the same minutes at the same moment; its rows are equal to ours.
            if attempt == 2:
                raise
            logger.debug("engagement session=%s minutes written concurrently, retrying", session_id)
    return len(rows)
