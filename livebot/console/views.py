"""The 问答工作台 pages (/console, /console/{session_id}) and its websocket (/ws/console/{session_id})."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import WSMsgType, web

from livebot.appkeys import DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.chat.api_internal import StoredEvent
from livebot.console import store
from livebot.console.hub import ConsoleClient
from livebot.console.state import CONSOLE
from livebot.platforms import PLATFORM_LABELS
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.web import sockets
from livebot.web.origin import same_origin

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

WS_MAX_MESSAGE = 16 * 1024
TOUCH_EVERY = 5.0


async def listed_sessions(request: web.Request) -> list[schedule.LiveSession]:
    rows = await schedule.sessions_with_status(request.app[DATABASE], ("live", "scheduled"))
    return sorted(rows, key=lambda s: (s.status != "live", s.planned_start))


@routes.get("/console")
@roles("advisor")
async def landing(request: web.Request) -> web.StreamResponse:
    """Straight to the one live session; otherwise a list to pick from."""
    sessions = await listed_sessions(request)
    live = [s for s in sessions if s.status == "live"]
    if len(live) == 1:
        raise web.HTTPFound(f"/console/{live[0].id}")
    return aiohttp_jinja2.render_template("console/index.html", request, {"sessions": sessions})


async def session_sites(request: web.Request, session_id: int) -> list[dict[str, Any]]:
    return [{"id": site.id, "name": site.name} for site in await schedule.session_sites(request.app[DATABASE], session_id)]


@routes.get(r"/console/{session_id:\d+}")
@roles("advisor")
async def console_page(request: web.Request) -> web.Response:
    session_id = int(request.match_info["session_id"])
    live = await schedule.find_session(request.app[DATABASE], session_id) if session_id else None
    if session_id and live is None:
        raise web.HTTPNotFound(text="没有这个场次")
    state = request.app[CONSOLE]
    identity = identity_of(request)
    assert identity is not None
    actor = state.actor(identity)
    config = {
        "session_id": session_id,
        "platforms": PLATFORM_LABELS,
        "sites": await session_sites(request, session_id),
        "me": {"name": actor.name, "display": actor.display, "senior": actor.senior, "admin": actor.admin},
        "claim_timeout": state.settings.claim_timeout_seconds,
    }
    context = {"title": live.title if live else "未分配场次的提问", "config_json": orjson.dumps(config).decode()}
    return aiohttp_jinja2.render_template("console/queue.html", request, context)


def chat_line(event: StoredEvent) -> dict[str, Any]:
    return {"id": event.id, "platform": event.platform, "user": event.user_name or event.user_id or "匿名",
            "text": event.text[:300], "ts": event.ts.isoformat(), "q": bool(event.is_question)}


@routes.get(r"/ws/console/{session_id:\d+}")
@roles("advisor", "producer")
async def console_ws(request: web.Request) -> web.StreamResponse:
    """Snapshot on open, then batched updates in sequence order (a gap that does not fill is a new snapshot)."""
    if not same_origin(request):
        raise web.HTTPForbidden(text="跨站连接被拒绝")
    session_id = int(request.match_info["session_id"])
    state, db = request.app[CONSOLE], request.app[DATABASE]
    identity = identity_of(request)
    assert identity is not None
    actor = state.actor(identity)
    ws = web.WebSocketResponse(heartbeat=25, compress=False, max_msg_size=WS_MAX_MESSAGE)
    await ws.prepare(request)
    sockets.track(request, ws)

    async def snapshot() -> dict[str, Any]:
        seq, cards = await store.snapshot(db, session_id, state.settings.snapshot_limit)
        chat = await store.chat_tail(db, session_id, state.settings.chat_tail)
        return {"type": "snapshot", "session_id": session_id, "seq": seq, "cards": state.payloads(cards),
                "chat": [chat_line(e) for e in chat], "server_time": utcnow().isoformat()}

    client = ConsoleClient(ws=ws, session_id=session_id, interval=state.settings.frame_interval_ms / 1000,
                           chat_per_frame=state.settings.chat_per_frame, snapshot=snapshot, name=actor.name,
                           reorder_window=state.settings.reorder_ms / 1000)
    state.hub.add(client)
    client.wake.set()
    sender = asyncio.get_running_loop().create_task(send_frames(client), name=f"console-ws:{actor.name}")
    touched: dict[int, float] = {}
    logger.info("console session=%s advisor=%s connected (%d open here)", session_id, actor.name, state.hub.count)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await handle_client_message(request, client, actor, message.data, touched)
    finally:
        state.hub.remove(client)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        logger.info("console session=%s advisor=%s disconnected", session_id, actor.name)
    return ws


async def send_frames(client: ConsoleClient) -> None:
    try:
        await client.run()
    except (ConnectionResetError, RuntimeError) as err:
        logger.debug("console session=%s client=%s send stopped: %s", client.session_id, client.name, err)
        await client.ws.close()


async def handle_client_message(
    request: web.Request, client: ConsoleClient, actor: store.Actor, data: str, touched: dict[int, float],
) -> None:
    """``resync`` asks for a new snapshot; ``touch`` keeps my claim alive while I type."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    match message:  # anything else (not an object, another type, a card id that is no id) is ignored
        case {"type": "resync"}:
            client.request_snapshot()
        case {"type": "touch", "card": int(card_id)} if type(card_id) is int and 0 < card_id < 2**62:
            now = time.monotonic()
            if now - touched.get(card_id, 0) > TOUCH_EVERY:
                touched[card_id] = now
                await store.touch(request.app[DATABASE], card_id, actor)
