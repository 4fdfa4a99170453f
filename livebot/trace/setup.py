"""Wire the trace area into the app: routes, API description, settings and the resolver cache."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE
from livebot.background import TaskSet
from livebot.topics import TRACE_UPDATED, read_trace_updated
from livebot.trace import api, chains, scans, summaries, views
from livebot.trace.cache import SummaryCache
from livebot.trace.facts import TraceFacts
from livebot.trace.keys import SCANS, SUMMARY_CACHE, TRACE_FACTS, TRACE_SETTINGS, TRACE_TASKS
from livebot.trace.scans import ScanCounter
from livebot.trace.settings import TraceSettings

logger = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    settings = app[CONFIG].section("trace", TraceSettings)
    app[TRACE_SETTINGS] = settings
    app[TRACE_FACTS] = TraceFacts(settings)
    app[SUMMARY_CACHE] = SummaryCache(settings.resolver_cache_seconds)
    app[TRACE_TASKS] = TaskSet("trace")
    app[SCANS] = ScanCounter()
    app.add_routes(api.routes)
    app.add_routes(views.routes)
    app[API_DOC].add(api.PATHS, api.SCHEMAS)
    app.cleanup_ctx.append(trace_ctx)


async def restamp_quietly(db: Any, settings: TraceSettings) -> None:
    """Bring stored summaries to the current format and settings; a failure only leaves those
    lots built on the spot (correct, slower), so it is logged, not raised."""
    try:
        await summaries.restamp(db, settings)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("trace: storing current summaries failed; outdated ones are built on each miss")


async def trace_ctx(app: web.Application) -> AsyncIterator[None]:
    """Keep the resolver cache in step with every instance, count scans, and store current summaries
    where the stored ones are outdated (in the background); the area's tasks run in one TaskSet."""
    db, settings = app[DATABASE], app[TRACE_SETTINGS]
    cache = app[SUMMARY_CACHE]
    snapshots = chains.SqliteSnapshots.open(db)
    cache.load_many = lambda lots: summaries.load(db, lots, settings, snapshots)
    tasks = app[TRACE_TASKS]
    tasks.spawn(restamp_quietly(db, settings), "restamp-summaries")

    async def on_update(message: dict[str, Any]) -> None:
        update = read_trace_updated(message)
        if update is not None and update["lots"]:
            cache.discard(update["lots"])
        else:
            cache.clear()

    unsubscribe = app[BUS].subscribe(TRACE_UPDATED, on_update, name="trace:resolver-cache")
    tasks.spawn(scans.flush_loop(db, app[SCANS]), "scan-counts")
    yield
    unsubscribe()
    await tasks.stop()
    await cache.tasks.stop()
    try:
        await scans.store_rows(db, app[SCANS].take(everything=True))
    except Exception:
        logger.exception("trace: scan counts of the last minutes could not be stored")
    if snapshots is not None:
        snapshots.close()
