"""``/ws/producer/{session_id}``: one producer console's live link.

On open the console gets the whole state and the server time; afterwards every message on
``schedule.{id}`` (from any instance, through the bus) is forwarded as is. The console sends
``ping`` for clock sync (answered at once with the server time, so it can compute drift), and
its cues, acknowledgements, notes and switches, which go through :mod:`livebot.schedule.live`
exactly like the JSON API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from livebot.appkeys import BUS
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.errors import LivebotError, ValidationError
from livebot.schedule import live
from livebot.schedule.errors import BehindError
from livebot.schedule.keys import CLOCK
from livebot.schedule.validate import MAX_ID
from livebot.schedule.validate import text as checked_text
from livebot.topics import schedule_topic
from livebot.web import sockets
from livebot.web.origin import same_origin

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
MAX_MESSAGE = 16 * 1024


def server_ms(request: web.Request) -> int:
    return int(request.app[CLOCK]().timestamp() * 1000)


def as_int(value: Any, field: str, required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            raise ValidationError(field, "必填")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationError(field, "应为正整数编号")
    return value


def as_text(value: Any, field: str, limit: int = 500, multiline: bool = False) -> str:
    """The JSON API's rules (:func:`validate.text`): no control or direction characters, at most ``limit``."""
    return checked_text({field: value}, field, max_len=limit, multiline=multiline)


Action = Callable[[web.Application, int, dict[str, Any], str], Awaitable[Any]]


async def do_cue(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    return await live.cue(app, sid, as_text(m.get("cue"), "cue", 16), by, from_site_id=as_int(m.get("from_site_id"), "from_site_id"),
                          segment_id=as_int(m.get("segment_id"), "segment_id"), site_id=as_int(m.get("site_id"), "site_id"),
                          text=as_text(m.get("text"), "text"))


async def do_ack(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    cue_id, site_id = as_int(m.get("cue_id"), "cue_id", True), as_int(m.get("site_id"), "site_id", True)
    assert cue_id is not None and site_id is not None
    return await live.ack(app, sid, cue_id, site_id, by)


async def do_note(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    return await live.note(app, sid, as_text(m.get("text"), "text", multiline=True), by, as_int(m.get("site_id"), "site_id"))


async def do_advance(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    return await live.advance(app, sid, by, as_int(m.get("segment_id"), "segment_id"), go_back=m.get("go_back") is True)


async def do_execute(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    cue_id = as_int(m.get("cue_id"), "cue_id", True)
    assert cue_id is not None
    return await live.execute(app, sid, cue_id, by, go_back=m.get("go_back") is True)


async def do_site(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    site_id = as_int(m.get("site_id"), "site_id", True)
    assert site_id is not None
    return await live.switch_site(app, sid, site_id, by)


async def do_mode(app: web.Application, sid: int, m: dict[str, Any], by: str) -> Any:
    return await live.set_mode(app, sid, as_text(m.get("mode"), "mode", 8), by)


ACTIONS: dict[str, Action] = {"cue": do_cue, "ack": do_ack, "note": do_note, "advance": do_advance, "site": do_site, "execute": do_execute,
                              "mode": do_mode}


@routes.get(r"/ws/producer/{session_id:\d{1,15}}")
@roles("producer")
async def producer_socket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise web.HTTPForbidden(text="跨站连接被拒绝")
    session_id = int(request.match_info["session_id"])
    state = await live.state(request.app, session_id)
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    sockets.track(request, ws)
    identity = identity_of(request)
    by = identity.name if identity else "producer"
    lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        if ws.closed:
            return
        async with lock:
            try:
                await ws.send_str(orjson.dumps(message).decode())
            except ConnectionResetError:
                logger.debug("producer ws session=%s closed while sending", session_id)

    async def forward(message: dict[str, Any]) -> None:
        await send({**message, "server_time": server_ms(request)})

    unsubscribe = request.app[BUS].subscribe(schedule_topic(session_id), forward, queue_size=200,
                                             name=f"ws-producer:{session_id}:{by}")
    try:
        await send({"type": "hello", "state": state, "server_time": server_ms(request), "you": by})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            await handle(request.app, session_id, by, msg.data, send, request)
    finally:
        unsubscribe()
    return ws


def ping_time(frame: dict[str, Any]) -> float | None:
    """The page's clock in a ping (echoed in the pong so the page measures the round trip), if it sent a number."""
    match frame:
        case {"t": int() | float() as t}:
            return t
    return None


async def handle(app: web.Application, session_id: int, by: str, data: str,
                 send: Callable[[dict[str, Any]], Awaitable[None]], request: web.Request) -> None:
    """One console message: ping, or an action whose result all consoles hear through the bus."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        await send({"type": "error", "error": "不是有效的 JSON", "field": "body"})
        return
    if not isinstance(message, dict):
        await send({"type": "error", "error": "应为 JSON 对象", "field": "body"})
        return
    kind = message.get("type")
    if kind == "ping":
        await send({"type": "pong", "t": ping_time(message), "server_time": server_ms(request)})
        return
    action = ACTIONS.get(kind) if isinstance(kind, str) else None
    if action is None:
        await send({"type": "error", "error": "未知消息类型", "field": "type"})
        return
    try:
        await action(app, session_id, message, by)
    except ValidationError as err:
        await send({"type": "error", "error": err.problem, "field": err.field, "request": kind})
    except LivebotError as err:
        await send({"type": "error", "error": str(err), "request": kind, "cue_id": message.get("cue_id"),
                    "go_back": isinstance(err, BehindError)})
    logger.debug("producer ws session=%s by=%s %s", session_id, by, kind)
