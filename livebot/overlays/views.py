"""Overlay pages for OBS (``/overlay/{session}/{scene}``), their websocket, and the producer page."""

from __future__ import annotations

import itertools
import logging

import aiohttp_jinja2
from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth.access import public, roles
from livebot.overlays import feeds
from livebot.overlays.access import forbidden, overlay_viewer
from livebot.overlays.errors import BadOverlayToken
from livebot.overlays.keys import OVERLAY_HUB, OVERLAY_SERVICE, OVERLAY_SETTINGS
from livebot.overlays.scenes import PROGRAM, PROGRAM_SCENES, page_scene
from livebot.platforms import PLATFORM_LABELS
from livebot.schedule import api_internal as schedule
from livebot.schedule.calendar import STATUS_NAMES
from livebot.topics import OVERLAY_SCENES
from livebot.web import sockets

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

SESSION = r"{session_id:\d{1,18}}"
OVERLAY_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
"""Overlays talk to their own origin only: no CDN, no fonts, no trackers, nothing else."""
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "Content-Security-Policy": OVERLAY_CSP,
                "X-Content-Type-Options": "nosniff"}
OVERLAY_PLATFORMS = {**PLATFORM_LABELS, "other": ""}
"""The one platform label table, except that on air an unknown platform gets no badge at all."""
client_numbers = itertools.count(1)


@routes.get(f"/overlay/{SESSION}/{{scene}}")
@public
async def overlay_page(request: web.Request) -> web.StreamResponse:
    """One scene (or the program page) for an OBS browser source; the token is the only login."""
    session_id = int(request.match_info["session_id"])
    try:
        await overlay_viewer(request, session_id)
    except BadOverlayToken:
        return forbidden(request)
    scene = page_scene(request.match_info["scene"])
    if scene is None or await schedule.find_session(request.app[DATABASE], session_id) is None:
        raise web.HTTPNotFound(text="404 没有这个叠加层", content_type="text/plain")
    context = {
        "session_id": session_id,
        "scene": scene,
        "scene_title": OVERLAY_SCENES.get(scene, "节目画面"),
        "program_scenes": PROGRAM_SCENES,
        "heartbeat": request.app[OVERLAY_SETTINGS].heartbeat_seconds,
        "platforms": OVERLAY_PLATFORMS,
    }
    response = aiohttp_jinja2.render_template(f"overlays/{scene}.html", request, context)
    response.headers.update(PAGE_HEADERS)
    return response


@routes.get(f"/ws/overlay/{SESSION}")
@public
async def overlay_socket(request: web.Request) -> web.StreamResponse:
    """The overlay websocket: a full snapshot on connect, merged patches after, pings to answer."""
    session_id = int(request.match_info["session_id"])
    try:
        digest = await overlay_viewer(request, session_id)
    except BadOverlayToken:
        return forbidden(request)
    if await request.app[OVERLAY_SERVICE].ensure(session_id) is None:
        raise web.HTTPNotFound(text="no such session")
    ws = web.WebSocketResponse(compress=False, max_msg_size=4096, autoping=True)
    await ws.prepare(request)
    sockets.track(request, ws)
    name = f"{'obs' if digest else 'preview'}-{next(client_numbers)}"
    await request.app[OVERLAY_HUB].serve(ws, session_id, digest, name)
    return ws


@routes.get("/overlays")
@roles("producer")
async def producer_index(request: web.Request) -> web.Response:
    """Sessions to pick from, newest first."""
    rows = await schedule.recent_sessions(request.app[DATABASE], 50)
    return aiohttp_jinja2.render_template("overlays/producer_index.html", request, {"sessions": rows, "status_names": STATUS_NAMES})


@routes.get(f"/overlays/{SESSION}")
@roles("producer")
async def producer_page(request: web.Request) -> web.Response:
    """Previews of every scene at 1920×1080 (scaled), OBS links, and the scene/batch/featured controls."""
    db = request.app[DATABASE]
    session_id = int(request.match_info["session_id"])
    live = await schedule.find_session(db, session_id)
    if live is None:
        raise web.HTTPNotFound(text="404 没有这个场次", content_type="text/plain")
    overlay = await request.app[OVERLAY_SERVICE].ensure(session_id)
    assert overlay is not None
    context = {
        "live": live,
        "scenes": OVERLAY_SCENES,
        "program": PROGRAM,
        "program_scenes": PROGRAM_SCENES,
        "control": overlay.control,
        "lots": await feeds.session_lots(db, session_id),
        "sites": await schedule.session_sites(db, session_id),
    }
    return aiohttp_jinja2.render_template("overlays/producer.html", request, context)
