"""Stored public summaries: what a Digital Link resolver miss reads, and the pass that keeps them current.

Every write of trace data stores each touched batch's finished summary — the exact JSON bytes
the resolver serves — beside its chain snapshot (:func:`livebot.trace.chains.refresh`), under a
key naming the summary format and the settings it was built with. A miss of the resolver's
in-memory cache is then one indexed read of ready bytes (:func:`load`): no snapshot to restore,
no facts to derive, nothing to serialise. A row whose key is not the current one (an older
format after an upgrade, other ``[trace]`` settings, a database migrated from before summaries
were stored) is served from a fresh build instead, never as stored, and :func:`restamp` —
started with the server — stores the current summaries of such rows in the background.

The summary depends on nothing that changes with the time it is read (see
:mod:`livebot.trace.derive`), so stored bytes never turn stale by themselves; live telemetry,
whose freshness does change with time, is not part of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from livebot.storage.engine import Database
from livebot.trace import chains, derive, facts
from livebot.trace.cache import Loaded, Ready
from livebot.trace.models import Batch
from livebot.trace.projection import chunks
from livebot.trace.settings import TraceSettings

logger = logging.getLogger(__name__)
RESTAMP_CHUNK = 200


async def stored_rows(db: Database, lots: Collection[str]) -> list[Any]:
    """``(lot, gtin, summary_key, summary)`` of each known lot among ``lots`` (Core, one query per chunk)."""
    table = Batch.__table__
    found: list[Any] = []
    async with db.engine.connect() as conn:
        for part in chunks(sorted(set(lots))):
            query = select(table.c.lot, table.c.gtin, table.c.summary_key, table.c.summary).where(table.c.lot.in_(part))
            found += (await conn.execute(query)).all()
    return found


async def load(db: Database, lots: Collection[str], settings: TraceSettings,
               snapshots: chains.SqliteSnapshots | None = None) -> dict[str, Loaded]:
    """The resolver's loader: each lot's stored summary bytes when current, else a fresh build
    (:func:`livebot.trace.facts.batch_summaries`); None for unknown lots."""
    askable = [lot for lot in lots if isinstance(lot, str) and lot and "\x00" not in lot]
    key = chains.summary_key(settings)
    rows = snapshots.read_summaries(askable) if snapshots is not None else await stored_rows(db, askable)
    found: dict[str, Loaded] = {}
    outdated: list[str] = []
    for lot, gtin, stored_key, data in rows:
        if data is not None and stored_key == key:
            found[lot] = Ready(gtin or None, bytes(data))
        else:
            outdated.append(lot)
    if outdated:
        found.update(await facts.batch_summaries(db, outdated, settings, snapshots))
    return {lot: found.get(lot) for lot in lots}


def store_stamps(conn: Connection, stamped: Sequence[tuple[str, bytes]], key: str) -> None:
    """Store summaries built from what was read, unless a writer stored a current one meanwhile:
    the row is only updated while its key is still not ``key`` (a writer always stores the
    current key with the summary of its own, newer data), so an update never goes backwards."""
    table = Batch.__table__
    statement = (
        update(table)
        .where(table.c.lot == bindparam("b_lot"), or_(table.c.summary_key.is_distinct_from(key), table.c.summary.is_(None)))
        .values(summary=bindparam("b_summary"), summary_key=key)
    )
    conn.execute(statement, [{"b_lot": lot, "b_summary": data} for lot, data in stamped])


async def restamp(db: Database, settings: TraceSettings, chunk: int = RESTAMP_CHUNK) -> int:
    """Store the current summary of every batch whose stored one is missing or outdated; returns
    how many were built. Runs in the background at start-up, a chunk at a time (reads, then a
    short write), so serving goes on meanwhile (those lots are built on the spot until then)."""
    key = chains.summary_key(settings)
    table = Batch.__table__
    async with db.engine.connect() as conn:
        wanted = sorted(await conn.scalars(
            select(table.c.lot).where(or_(table.c.summary_key.is_distinct_from(key), table.c.summary.is_(None)))))
    built = 0
    for part in chunks(wanted, chunk):
        loaded = await chains.load_chains(db, part)
        stamped = [(lot, derive.encode(chain, settings)) for lot, chain in loaded.items()]
        if stamped:
            await db.write(lambda conn, stamped=stamped: store_stamps(conn, stamped, key))  # type: ignore[misc]
        built += len(stamped)
        await asyncio.sleep(0)
    if built:
        logger.info("trace summaries stored for %d batches (format or settings changed)", built)
    return built
