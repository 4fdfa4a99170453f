"""Can scans as a figure: each Digital Link lookup counted per batch, minute and region, without personal data.

The resolver is the hottest public path, so counting is an in-memory increment; completed minutes are
written in the background (``flush_loop``) and the rest when the app stops. A client is kept only as a
salted one-way digest for the minute's distinct count (the salt changes with every process), and only
the counts reach the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from livebot.storage.engine import Database
from livebot.trace.models import ScanMinute, SessionBatch

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
MAX_REGION = 32
MAX_KEYS = 200_000
"""Pending (lot, minute, region) buckets before new ones are dropped (and logged): a bound on memory."""


@dataclass
class Bucket:
    scans: int = 0
    clients: set[bytes] | None = None


class ScanCounter:
    """Counts lookups per (lot, minute, region) in memory until they are written."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._salt = os.urandom(16)
        self._buckets: dict[tuple[str, int, str], Bucket] = defaultdict(Bucket)
        self.dropped = 0

    def record(self, lot: str, client: str, region: str = "") -> None:
        if region and not region.isprintable():
            region = "".join(ch for ch in region if ch.isprintable())
        key = (lot, int(self.clock()) // 60, region[:MAX_REGION])
        if key not in self._buckets and len(self._buckets) >= MAX_KEYS:
            self.dropped += 1
            return
        bucket = self._buckets[key]
        bucket.scans += 1
        if bucket.clients is None:
            bucket.clients = set()
        bucket.clients.add(hashlib.blake2b(client.encode("utf-8", "replace"), key=self._salt, digest_size=8).digest())

    def take(self, everything: bool = False) -> list[tuple[str, datetime, str, int, int]]:
        """Remove and return finished minutes (all of them when ``everything``) as rows to store."""
        now_minute = int(self.clock()) // 60
        done = [key for key in self._buckets if everything or key[1] < now_minute]
        rows = []
        for key in done:
            bucket = self._buckets.pop(key)
            lot, minute, region = key
            rows.append((lot, datetime.fromtimestamp(minute * 60, UTC), region, bucket.scans, len(bucket.clients or ())))
        return rows


async def store_rows(db: Database, rows: Sequence[tuple[str, datetime, str, int, int]]) -> None:
    """Add counts to the stored minutes (several instances may write the same minute)."""
    if not rows:
        return
    values = [{"lot": lot, "minute": minute, "region": region, "scans": scans, "clients": clients}
              for lot, minute, region, scans, clients in rows]
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ScanMinute).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["lot", "minute", "region"],
        set_={"scans": ScanMinute.scans + statement.excluded.scans, "clients": ScanMinute.clients + statement.excluded.clients})
    async with db.sessions() as session:
        await session.execute(statement)
        await session.commit()


async def flush_loop(db: Database, counter: ScanCounter, period: float = FLUSH_SECONDS) -> None:
    while True:
        await asyncio.sleep(period)
        rows = counter.take()
        try:
            await store_rows(db, rows)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("trace: could not store %d scan counts; they are lost", len(rows))
        if counter.dropped:
            logger.warning("trace: %d scans not counted (too many pending buckets)", counter.dropped)
            counter.dropped = 0


async def scans_per_minute(db: Database, lots: Sequence[str], since: datetime, until: datetime) -> dict[datetime, int]:
    """Scans of ``lots`` per UTC minute in [since, until)."""
    if not lots:
        return {}
    query = (select(ScanMinute.minute, func.sum(ScanMinute.scans))
             .where(ScanMinute.lot.in_(list(lots)), ScanMinute.minute >= since, ScanMinute.minute < until)
             .group_by(ScanMinute.minute))
    async with db.sessions() as session:
        return {minute.astimezone(UTC): int(total) for minute, total in (await session.execute(query)).all()}


async def scans_by_lot(db: Database, lots: Sequence[str], since: datetime, until: datetime) -> dict[str, int]:
    if not lots:
        return {}
    query = (select(ScanMinute.lot, func.sum(ScanMinute.scans))
             .where(ScanMinute.lot.in_(list(lots)), ScanMinute.minute >= since, ScanMinute.minute < until)
             .group_by(ScanMinute.lot))
    async with db.sessions() as session:
        return {lot: int(total) for lot, total in (await session.execute(query)).all()}


async def session_scans(db: Database, session_id: int, since: datetime, until: datetime) -> dict[str, Any]:
    """The session's batches' scans in [since, until): per minute (ISO keys) and per lot, with the total."""
    async with db.sessions() as session:
        lots = list(await session.scalars(select(SessionBatch.lot).where(SessionBatch.session_id == session_id)))
    per_minute = await scans_per_minute(db, lots, since, until)
    per_lot = await scans_by_lot(db, lots, since, until)
    return {"total": sum(per_lot.values()), "by_lot": [{"lot": lot, "scans": per_lot.get(lot, 0)} for lot in lots],
            "per_minute": {minute.isoformat(): n for minute, n in sorted(per_minute.items())}}
