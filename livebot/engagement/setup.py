"""Wire the engagement area into the app: pages, API, live figures and post-session reports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE, REGISTRY
from livebot.background import stop_tasks
from livebot.compliance.service import GUARD
from livebot.engagement import api, apidoc, views
from livebot.engagement.keys import ENGAGEMENT_SETTINGS, LIVE, REPORTER
from livebot.engagement.live import LiveFigures
from livebot.engagement.metrics import EngagementMetrics
from livebot.engagement.postsession import Reporter
from livebot.engagement.service import PANELS, PanelCache
from livebot.engagement.settings import EngagementSettings
from livebot.topics import CHAT_ENRICHED, CHAT_STORED, SESSION_ENDED

logger = logging.getLogger(__name__)

QUEUE_SIZE = 50_000


def setup(app: web.Application) -> None:
    app[ENGAGEMENT_SETTINGS] = app[CONFIG].section("engagement", EngagementSettings)
    app[PANELS] = PanelCache()
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app[API_DOC].add(apidoc.PATHS, apidoc.SCHEMAS)
    app.cleanup_ctx.append(engagement_ctx)


async def engagement_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, db, bus = app[ENGAGEMENT_SETTINGS], app[DATABASE], app[BUS]
    metrics = EngagementMetrics(app[REGISTRY])
    live = LiveFigures(db, bus, settings, metrics)
    reporter = Reporter(db, settings, metrics, lambda: app[CONFIG].server.base_url, live.session_lock)
    reporter.guard = app.get(GUARD)
    app[LIVE], app[REPORTER] = live, reporter
    unsubscribe = [
        # Once per message across processes: a message only marks its minute dirty (the figures are
        # recomputed from the stored events), so acknowledging on return loses nothing durable.
        bus.subscribe_group(CHAT_STORED, "engagement-stored", live.on_stored_batch, queue_size=QUEUE_SIZE),
        bus.subscribe_group(CHAT_ENRICHED, "engagement-enriched", live.on_enriched_batch, queue_size=QUEUE_SIZE),
        bus.subscribe("schedule.*", live.on_schedule, name="engagement-schedule", queue_size=1000),
    ]
    if settings.report_on_session_end:
        unsubscribe.append(bus.subscribe(SESSION_ENDED, reporter.on_session_ended, name="engagement-report"))
    tasks = []
    if bus.consume_groups:  # a web process beside `livebot worker`s leaves figures (and their publish) to them
        tasks = [asyncio.get_running_loop().create_task(catch_up(live, reporter, settings), name="engagement:catch-up"),
                 asyncio.get_running_loop().create_task(live.run(), name="engagement:flush")]
    yield
    for stop in unsubscribe:
        stop()
    await stop_tasks(tasks)
    await live.close()
    if bus.consume_groups:
        with contextlib.suppress(Exception):
            await live.flush()  # what arrived since the last flush is written before the app stops
        with contextlib.suppress(Exception):
            await live.resign()
    await reporter.close()


async def catch_up(live: LiveFigures, reporter: Reporter, settings: EngagementSettings) -> None:
    """Rebuild live sessions and make missing post-session reports, in the background after start."""
    try:
        rebuilt = await live.catch_up()
        if rebuilt:
            logger.info("engagement rebuilt live sessions at start: %s", rebuilt)
        if settings.report_on_session_end:
            await reporter.catch_up()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("engagement start-up catch-up failed")
