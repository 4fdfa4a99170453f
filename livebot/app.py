"""The app factory: ``create_app(config)`` wires storage, bus, auth and every area.

Each long-lived resource is a ``cleanup_ctx`` generator, so it starts before the first request
and is closed (writers flushed) when the app stops.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from aiohttp_session import setup as setup_session
from prometheus_client import CollectorRegistry

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE, REGISTRY, ROLE
from livebot.auth.access import access_middleware
from livebot.auth.admin import routes as admin_routes
from livebot.auth.ratelimit import open_limiter
from livebot.auth.sessions import DatabaseSessionStorage
from livebot.auth.views import LIMITER
from livebot.auth.views import routes as auth_routes
from livebot.bus.base import BusMetrics
from livebot.bus.factory import open_bus
from livebot.config import Config
from livebot.errors import StorageError
from livebot.privacy.setup import setup as privacy_setup
from livebot.storage import migrate
from livebot.storage.engine import Database, backend
from livebot.web import health, metrics, openapi, protocol_log, sockets
from livebot.web.errors import error_middleware
from livebot.web.fastlane import fast_lane_middleware
from livebot.web.templating import PACKAGE_ROOT, setup_templates

logger = logging.getLogger(__name__)

AreaSetup = Callable[[web.Application], None]


def area_setups() -> list[AreaSetup]:
    """Every feature area's ``setup(app)``; adding an area means adding it here."""
    from livebot.cases import setup as cases
    from livebot.chat import setup as chat
    from livebot.chat.replies import setup as replies
    from livebot.compliance import setup as compliance
    from livebot.console import setup as console
    from livebot.engagement import setup as engagement
    from livebot.faq import setup as faq
    from livebot.overlays import setup as overlays
    from livebot.schedule import setup as schedule
    from livebot.trace import setup as trace

    # Chat last: it starts after every consumer has subscribed and stops first, flushing its
    # writer while the consumers are still there to hear the last events.
    return [compliance.setup, schedule.setup, console.setup, cases.setup, engagement.setup, overlays.setup, trace.setup, faq.setup,
            replies.setup, chat.setup]


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    url = config.database.url
    if backend(url) == "sqlite":
        await migrate.upgrade(url)
    elif migrate.current_revisions(url) != migrate.head_revisions():
        raise StorageError("database schema is not at the newest migration: run `livebot db upgrade --config FILE`")
    db = Database.open(url, echo=config.database.echo)
    app[DATABASE] = db
    yield
    await db.close()


async def bus_ctx(app: web.Application) -> AsyncIterator[None]:
    bus = open_bus(app[CONFIG].bus, BusMetrics(app[REGISTRY]))
    bus.consume_groups = app[ROLE] != "web"
    await bus.start()
    app[BUS] = bus
    yield
    await bus.close()


def create_app(config: Config, role: str = "all") -> web.Application:
    """Build the whole service for ``config``; nothing starts until the app runs.

    ``role`` "web" leaves the once-per-message stages (group subscriptions) to ``livebot worker``
    processes; "worker" is such a process: the same app, run without an HTTP listener."""
    if role not in ("all", "web", "worker"):
        raise ValueError(f"unknown role {role!r}")
    registry = CollectorRegistry()
    http_metrics = metrics.HttpMetrics(registry)
    app = web.Application(
        client_max_size=config.server.max_body_bytes,
        middlewares=[metrics.metrics_middleware(http_metrics), fast_lane_middleware],
    )
    app[CONFIG] = config
    app[ROLE] = role
    app[REGISTRY] = registry
    app[API_DOC] = openapi.ApiDoc()
    app[API_DOC].add(openapi.CORE_PATHS)
    app[LIMITER] = open_limiter(config.auth, config.database.url, lambda: app[DATABASE])
    setup_session(app, DatabaseSessionStorage(lambda: app[DATABASE], max_age=config.auth.session_max_age, secure=config.auth.cookie_secure))
    app.middlewares.append(error_middleware)
    app.middlewares.append(access_middleware)
    protocol_log.install()
    setup_templates(app)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(bus_ctx)
    sockets.setup(app)
    app.add_routes(health.routes)
    app.add_routes(metrics.routes)
    app.add_routes(openapi.routes)
    app.add_routes(auth_routes)
    app.add_routes(admin_routes)
    privacy_setup(app)
    app.router.add_static("/static/", PACKAGE_ROOT / "web" / "static", name="static")
    for setup in area_setups():
        setup(app)
    return app
