"""Wire the overlays area into the app: routes, static files, the hub and the state service."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE, ROLE
from livebot.compliance.service import GUARD
from livebot.overlays import api
from livebot.overlays.api import routes as api_routes
from livebot.overlays.hub import OverlayHub
from livebot.overlays.keys import OVERLAY_HUB, OVERLAY_SERVICE, OVERLAY_SETTINGS
from livebot.overlays.service import OverlayService
from livebot.overlays.settings import OverlaySettings
from livebot.overlays.views import routes as page_routes
from livebot.trace import api_internal as trace
from livebot.web.templating import PROJECT_ROOT

STATIC = PROJECT_ROOT / "stream_overlays" / "static"
"""The overlay CSS and client; beside ``livebot`` both in the source tree and once installed."""



async def overlay_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[OVERLAY_SETTINGS]
    hub = OverlayHub(max_fps=settings.max_frames_per_second, heartbeat=settings.heartbeat_seconds)
    service = OverlayService(app[DATABASE], app[BUS], settings, hub, app[trace.TRACE_FACTS], guard=app.get(GUARD))
    app[OVERLAY_HUB] = hub
    app[OVERLAY_SERVICE] = service
    if app[ROLE] == "worker":  # no overlay websockets here: the web processes keep the overlays' state
        yield
        return
    await service.start()
    yield
    await service.stop()


def setup(app: web.Application) -> None:
    app[OVERLAY_SETTINGS] = app[CONFIG].section("overlays", OverlaySettings)
    app.add_routes(page_routes)
    app.add_routes(api_routes)
    app.router.add_static("/static/overlays/", STATIC, name="overlay_static")
    app[API_DOC].add(api.PATHS, api.SCHEMAS)
    app.cleanup_ctx.append(overlay_ctx)
