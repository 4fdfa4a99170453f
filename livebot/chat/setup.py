"""Wire the chat ingest into the app: sources, their routes, the writer and the source tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE, REGISTRY, ROLE
from livebot.auth.access import ACCESS_ATTR, CSRF_EXEMPT_ATTR
from livebot.background import stop_tasks
from livebot.chat.ingest import Ingest
from livebot.chat.keys import CHAT_METRICS, INGEST, SOURCES
from livebot.chat.metrics import IngestMetrics
from livebot.chat.moderation import Moderator
from livebot.chat.routing import Router
from livebot.chat.settings import ChatSettings, ModerationSettings
from livebot.chat.sources.base import Source
from livebot.chat.sources.registry import build_sources
from livebot.chat.writer import Writer
from livebot.retry import Backoff, RetryPolicy
from livebot.topics import SCHEDULE_CHANGED

logger = logging.getLogger(__name__)

SOURCE_ID = "{source_id}"
RESTART_DELAY: RetryPolicy = Backoff(1.0, 30.0, jitter=0.0)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(app: web.Application) -> None:
    config = app[CONFIG]
    settings = config.section("chat", ChatSettings)
    metrics = IngestMetrics(app[REGISTRY])
    ingest = Ingest(settings, Moderator(config.section("moderation", ModerationSettings)), metrics)
    app[INGEST] = ingest
    app[CHAT_METRICS] = metrics
    sources = build_sources(config.sources, ingest)
    app[SOURCES] = sources
    for source in sources.values():
        source.attach(app)
    add_source_routes(app, list(sources.values()))
    app.cleanup_ctx.append(ingest_ctx)
    if app.get(ROLE) != "worker":  # a worker takes no chat in: the web processes' sources do
        app.cleanup_ctx.append(sources_ctx)


def add_source_routes(app: web.Application, sources: list[Source]) -> None:
    """Concrete routes as given; ``{source_id}`` routes once per type, dispatched by id."""
    seen: set[tuple[str, str]] = set()
    documented: set[type[Source]] = set()
    for source in sources:
        cls = type(source)
        if cls not in documented and cls.openapi:
            app[API_DOC].add(cls.openapi)
            documented.add(cls)
        for route in source.routes():
            if not isinstance(route, web.RouteDef):
                raise TypeError(f"source {source.id}: routes() must return aiohttp RouteDef items")
            if SOURCE_ID not in route.path:
                app.router.add_route(route.method, route.path, route.handler, **route.kwargs)
                continue
            if (route.method, route.path) in seen:
                continue
            seen.add((route.method, route.path))
            app.router.add_route(route.method, route.path, dispatcher(app, cls, route.handler), **route.kwargs)


def dispatcher(app: web.Application, cls: type[Source], bound: Any) -> Handler:
    """A handler that finds the configured source named in the path and calls its method."""
    method = bound.__func__

    async def dispatch(request: web.Request) -> web.StreamResponse:
        source = app[SOURCES].get(request.match_info["source_id"])
        if source is None or type(source) is not cls:
            return web.json_response({"error": "unknown source", "field": "source_id"}, status=404)
        response: web.StreamResponse = await method(source, request)
        return response

    for attr in (ACCESS_ATTR, CSRF_EXEMPT_ATTR):
        if hasattr(method, attr):
            setattr(dispatch, attr, getattr(method, attr))
    dispatch.__name__ = f"{cls.__name__}.{method.__name__}"
    return dispatch


async def ingest_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the writer and routing; on shutdown flush the writer before the database closes."""
    ingest = app[INGEST]
    settings = ingest.settings
    router = Router(app[DATABASE], settings.routing_refresh_seconds)
    writer = Writer(app[DATABASE], settings, ingest.metrics, app[BUS], moderator=ingest.moderator)
    ingest.bind(writer, router)
    unsubscribe = app[BUS].subscribe(SCHEDULE_CHANGED, router.on_schedule_changed, name="chat-routing")
    writer.start()
    yield
    unsubscribe()
    await writer.stop()


async def sources_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run every source's ``run()`` under a supervisor; cancel them, then close them."""
    tasks = [
        asyncio.get_running_loop().create_task(supervise(source), name=f"chat-source:{source.id}")
        for source in app[SOURCES].values()
    ]
    yield
    await stop_tasks(tasks)
    for source in app[SOURCES].values():
        try:
            await source.close()
        except Exception:  # one source failing to close must not keep the others open
            logger.exception("source=%s close failed", source.id)


async def supervise(source: Source) -> None:
    """Keep a connector running: log whatever escapes ``run()`` and start it again after a pause."""
    failures = 0
    while True:
        try:
            await source.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # the connector's own policy failed; restart it rather than lose the source
            failures += 1
            delay = RESTART_DELAY(failures)
            logger.exception("source=%s type=%s run() failed; restart %d in %.0fs", source.id, source.type_name,
                             failures, delay)
            await asyncio.sleep(delay)
