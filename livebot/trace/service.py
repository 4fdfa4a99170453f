"""Store-then-publish operations shared by the API, the CLI and the demo."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from livebot.appkeys import BUS, DATABASE
from livebot.storage.engine import Database
from livebot.topics import TELEMETRY, TRACE_UPDATED
from livebot.trace import store
from livebot.trace.epcis import parse_document
from livebot.trace.importer import ImportResult, import_document
from livebot.trace.keys import SUMMARY_CACHE, TRACE_SETTINGS
from livebot.trace.settings import TraceSettings
from livebot.trace.telemetry import Telemetry

logger = logging.getLogger(__name__)


async def import_epcis(db: Database, raw: bytes, settings: TraceSettings) -> ImportResult:
    """Parse and validate off the event loop, then store in one transaction."""
    doc = await asyncio.to_thread(parse_document, raw)
    return await import_document(db, doc, settings.zone)


async def import_epcis_file(db: Database, path: Path, settings: TraceSettings) -> ImportResult:
    """Read a (possibly large) file in a thread so the loop keeps serving."""
    raw = await asyncio.to_thread(path.read_bytes)
    return await import_epcis(db, raw, settings)


async def trace_changed(app: web.Application, lots: Sequence[str], gtins: Sequence[str]) -> None:
    """Drop cached answers here at once and tell every instance (``trace.updated``)."""
    app[SUMMARY_CACHE].clear()
    await app[BUS].publish(TRACE_UPDATED, {"lots": list(lots), "gtins": list(gtins)})


async def import_epcis_app(app: web.Application, raw: bytes) -> ImportResult:
    result = await import_epcis(app[DATABASE], raw, app[TRACE_SETTINGS])
    if result.stored:
        await trace_changed(app, result.lots, result.gtins)
    return result


async def record_telemetry(app: web.Application, readings: Sequence[Telemetry]) -> None:
    """Store readings, then publish each on ``trace.telemetry``."""
    await store.save_telemetry(app[DATABASE], readings)
    for reading in readings:
        await app[BUS].publish(TELEMETRY, reading.message())
