"""Wire the trace area into the app: routes, API description, settings and the resolver cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE
from livebot.topics import TRACE_UPDATED
from livebot.trace import api, chains, facts, views
from livebot.trace.cache import SummaryCache
from livebot.trace.keys import SUMMARY_CACHE, TRACE_SETTINGS, TRACE_TASKS
from livebot.trace.settings import TraceSettings


def setup(app: web.Application) -> None:
    settings = app[CONFIG].section("trace", TraceSettings)
    app[TRACE_SETTINGS] = settings
    app[SUMMARY_CACHE] = SummaryCache(settings.resolver_cache_seconds)
    app[TRACE_TASKS] = set()
    app.add_routes(api.routes)
    app.add_routes(views.routes)
    app[API_DOC].add(api.PATHS, api.SCHEMAS)
    app.cleanup_ctx.append(trace_ctx)


async def trace_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register the settings for ``facts`` and keep the resolver cache in step with every instance."""
    db = app[DATABASE]
    facts.use_settings(db, app[TRACE_SETTINGS])
    cache = app[SUMMARY_CACHE]
    snapshots = chains.SqliteSnapshots.open(db)
    cache.load_many = lambda lots: facts.batch_summaries(db, lots, snapshots)

    async def on_update(message: dict[str, Any]) -> None:
        lots = message.get("lots")
        if isinstance(lots, list) and lots:
            cache.discard(str(lot) for lot in lots)
        else:
            cache.clear()

    unsubscribe = app[BUS].subscribe(TRACE_UPDATED, on_update, name="trace:resolver-cache")
    yield
    unsubscribe()
    tasks = [*app[TRACE_TASKS], *cache.tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if snapshots is not None:
        snapshots.close()
