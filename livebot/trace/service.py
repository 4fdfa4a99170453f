"""Store-then-publish operations shared by the API, the CLI and the demo."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.errors import ConflictError, ValidationError
from livebot.storage.engine import Database
from livebot.topics import TELEMETRY, TRACE_UPDATED, TraceUpdated
from livebot.trace import store
from livebot.trace.epcis import parse_document
from livebot.trace.errors import TraceError
from livebot.trace.importer import ImportResult, import_document
from livebot.trace.keys import SUMMARY_CACHE, TRACE_SETTINGS
from livebot.trace.settings import TraceSettings
from livebot.trace.telemetry import Telemetry

logger = logging.getLogger(__name__)


async def import_epcis(db: Database, raw: bytes, settings: TraceSettings, xml: bool | None = None) -> ImportResult:
    """Parse and validate off the event loop (XML or JSON-LD; ``xml`` None decides by content), then store in one transaction."""
    doc = await asyncio.to_thread(parse_document, raw, xml)
    return await import_document(db, doc, settings.zone, settings)


def import_blocking(url: str, raw: bytes, settings: TraceSettings, xml: bool | None = None) -> ImportResult:
    """The whole import in this process, on its own event loop and database engine."""

    async def run() -> ImportResult:
        db = Database.open(url)
        try:
            return await import_epcis(db, raw, settings, xml)
        finally:
            await db.close()

    try:
        return asyncio.run(run())
    except (TraceError, ValidationError, ConflictError):
        raise
    except Exception as err:  # database and driver errors may not survive pickling back to the caller
        raise TraceError(f"import failed: {type(err).__name__}: {err}") from None


async def import_epcis_isolated(url: str, raw: bytes, settings: TraceSettings, xml: bool | None = None) -> ImportResult:
    """Import a large document in a worker process so the caller's loop never waits on it.

    Parsing is not the only CPU work: storing tens of thousands of events and rebuilding their
    chains is too, and in a thread it would still compete for the GIL with the serving loop.
    The worker has its own engine; the transaction still makes the document all or nothing.
    """
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return await loop.run_in_executor(pool, import_blocking, url, raw, settings, xml)
    finally:
        await loop.run_in_executor(None, pool.shutdown)


async def import_epcis_file(url: str, path: Path, settings: TraceSettings) -> ImportResult:
    """Read and import a (possibly large) file without blocking the event loop."""
    raw = await asyncio.to_thread(path.read_bytes)
    return await import_epcis_isolated(url, raw, settings)


async def trace_changed(app: web.Application, lots: Sequence[str], gtins: Sequence[str]) -> None:
    """Drop cached answers here at once and tell every instance (``trace.updated``)."""
    if lots:
        app[SUMMARY_CACHE].discard(lots)
    else:
        app[SUMMARY_CACHE].clear()
    await app[BUS].publish(TRACE_UPDATED, TraceUpdated(lots=list(lots), gtins=list(gtins)))


INLINE_BYTES = 1024 * 1024
"""Documents up to this size are imported on the serving loop; larger ones in a worker process."""


async def import_epcis_app(app: web.Application, raw: bytes, xml: bool = False) -> ImportResult:
    """Import for the API: inline when small, in a worker process when large; then publish."""
    if len(raw) > INLINE_BYTES:
        result = await import_epcis_isolated(app[CONFIG].database.url, raw, app[TRACE_SETTINGS], xml)
    else:
        result = await import_epcis(app[DATABASE], raw, app[TRACE_SETTINGS], xml)
    if result.lots:
        await trace_changed(app, result.lots, result.gtins)
    return result


async def record_telemetry(app: web.Application, readings: Sequence[Telemetry]) -> None:
    """Store readings, then publish each on ``trace.telemetry``."""
    await store.save_telemetry(app[DATABASE], readings)
    for reading in readings:
        await app[BUS].publish(TELEMETRY, reading.message())
