"""JSON API: send overlay commands, read the state, rotate the OBS overlay token."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.errors import ValidationError
from livebot.overlays import feeds, store
from livebot.overlays.errors import BadCommand
from livebot.overlays.keys import OVERLAY_SERVICE
from livebot.overlays.links import overlay_urls
from livebot.overlays.scenes import PROGRAM_SCENES
from livebot.overlays.service import command_from_api, screen_texts
from livebot.schedule import api_internal as schedule
from livebot.topics import OVERLAY_CONTROL, OVERLAY_TOKENS, OverlayTokens
from livebot.trace import api_internal as trace
from livebot.web.openapi import VISIBLE, error_responses

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

SESSION = r"{session_id:\d{1,18}}"
ADVISOR_TYPES = frozenset({"featured", "featured_clear"})
"""Advisors may put an answered question on screen or take it off; the rest is the producer's."""
APPLY_TIMEOUT = 5.0


def error(status: int, message: str, field: str | None = None) -> web.Response:
    body = {"error": message, **({"field": field} if field else {})}
    return web.json_response(body, status=status)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (ValueError, RecursionError) as err:  # RecursionError: JSON nested thousands deep
        raise BadCommand("body", "应为 JSON 对象") from err


def base_url(request: web.Request) -> str:
    """The configured public URL, else the address the caller used."""
    config = request.app[CONFIG]
    return config.server.public_url.rstrip("/") or str(request.url.origin())


async def session_or_404(request: web.Request) -> int:
    session_id = int(request.match_info["session_id"])
    if await schedule.find_session(request.app[DATABASE], session_id) is None:
        raise web.HTTPNotFound(text='{"error": "没有这个场次"}', content_type="application/json")
    return session_id


@routes.post(f"/api/v1/sessions/{SESSION}/overlay")
@roles("producer", "advisor")
async def send_command(request: web.Request) -> web.Response:
    """Publish an ``overlay.control`` command and answer with the state once it is applied here."""
    session_id = await session_or_404(request)
    identity = identity_of(request)
    assert identity is not None
    try:
        raw = await read_json(request)
        command = command_from_api(raw, session_id, identity.name)
    except ValidationError as err:
        return error(400, err.problem, err.field)
    except web.HTTPRequestEntityTooLarge:
        return error(413, "请求内容过大", "body")
    if not identity.has_role("producer") and command.type not in ADVISOR_TYPES:
        return error(403, "顾问只能上屏或下屏问答，其他画面请由导播切换")
    if command.type == "site" and command.fields["site_id"] is not None:
        site_ids = {site.id for site in await schedule.session_sites(request.app[DATABASE], session_id)}
        if command.fields["site_id"] not in site_ids:
            return error(422, "该站点未参加本场次", "site_id")
    lot = command.fields.get("lot") if command.type == "batch" else None
    if lot:
        force = raw.get("force", False)
        if not isinstance(force, bool):
            return error(400, "应为 true 或 false", "force")
        if not force and await feeds.batch_summary(request.app[trace.TRACE_FACTS], request.app[DATABASE], lot) is None:
            return web.json_response({"error": f"批次 {lot} 没有溯源数据，上屏会显示“批次 {lot} 暂无溯源数据”。请核对批次号；确认仍要上屏请再确认一次",
                                      "field": "lot", "confirm": "force"}, status=409)
    service = request.app[OVERLAY_SERVICE]
    screen = "\n".join(t for t in screen_texts(command) if t)
    if service.guard is not None and screen:
        result = service.guard.check(screen)
        if result.blocked:
            await service.guard.record("overlay", "blocked", result, screen, session_id=session_id, actor=identity.name,
                                       actor_name=identity.display_name, ref=f"overlay:{command.type}")
            first = result.findings[0]
            return web.json_response({"error": f"违反合规规则（{first.rule}）：{first.explanation} 建议改为：{first.rewording}",
                                      "compliance": result.as_dict()}, status=422)
    waiter = service.expect(command.id)
    try:
        await request.app[BUS].publish(OVERLAY_CONTROL, command.message())
        state = await asyncio.wait_for(asyncio.shield(waiter), APPLY_TIMEOUT)
    except TimeoutError:
        logger.warning("overlay command not applied in time session=%s cmd=%s", session_id, command.id)
        return web.json_response({"applied": False, "command": command.message()}, status=202)
    finally:
        service.forget(command.id)
    return web.json_response({"applied": True, "command": command.message(), "state": state})


@routes.get(f"/api/v1/sessions/{SESSION}/overlay")
@roles("producer", "advisor")
async def get_state(request: web.Request) -> web.Response:
    session_id = await session_or_404(request)
    overlay = await request.app[OVERLAY_SERVICE].ensure(session_id)
    assert overlay is not None
    return web.json_response(request.app[OVERLAY_SERVICE].public_state(overlay))


@routes.post(f"/api/v1/sessions/{SESSION}/overlay-token")
@roles("producer")
async def rotate_token(request: web.Request) -> web.Response:
    """A new overlay token (the old one stops working at once, open overlays using it close)."""
    session_id = await session_or_404(request)
    identity = identity_of(request)
    assert identity is not None
    token = await store.rotate_token(request.app[DATABASE], session_id, identity.name)
    await request.app[BUS].publish(OVERLAY_TOKENS, OverlayTokens(session_id=session_id, by=identity.name))
    logger.info("overlay token rotated session=%s by=%s", session_id, identity.name)
    urls = overlay_urls(base_url(request), session_id, token)
    return web.json_response({"session_id": session_id, "token": token, "program": urls["program"], "urls": urls}, status=201)


STATE_SCHEMA = {
    "type": "object",
    "properties": {
        "session_id": {"type": "integer"},
        "version": {"type": "integer"},
        "control": {"type": "object", "description": "scene, lot, featured, site_id, countdown, ticker_enabled, ticker"},
        "parts": {"type": "object", "description": "what overlays receive: scene, batch, telemetry, site, featured, ticker, stats, countdown, session"},
    },
}
COMMAND_SCHEMA = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["scene", "batch", "featured", "featured_clear", "ticker", "site", "countdown"]},
        "scene": {"type": "string", "description": "program scene: " + ", ".join(PROGRAM_SCENES)},
        "lot": {"type": ["string", "null"], "maxLength": 40},
        "question": {"type": "string", "description": "cut to 120 characters with an ellipsis"},
        "answer": {"type": ["string", "null"], "description": "cut to 300 characters with an ellipsis"},
        "asker": {"type": "string"},
        "platform": {"type": "string"},
        "enabled": {"type": "boolean"},
        "clear": {"type": "boolean"},
        "text": {"type": ["string", "null"], "description": "cut to 60 characters with an ellipsis"},
        "site_id": {"type": ["integer", "null"]},
        "title": {"type": ["string", "null"], "description": "cut to 40 characters with an ellipsis"},
        "ends_at": {"type": ["string", "null"], "format": "date-time", "maxLength": 40},
    },
    "oneOf": [
        {"properties": {"type": {"const": "featured"}, "question": {"pattern": VISIBLE}}, "required": ["question"],
         "description": "featured: a question with something visible in it"},
        {"properties": {"type": {"const": "ticker"}, "text": {"type": "string", "pattern": VISIBLE}},
         "anyOf": [{"required": ["enabled"]}, {"required": ["text"]}, {"required": ["clear"], "properties": {"clear": {"const": True}}}],
         "description": "ticker: enabled, clear or a text"},
        {"properties": {"type": {"enum": ["scene", "batch", "featured_clear", "site", "countdown"]}}},
    ],
}
SESSION_PARAM = [{"name": "session_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
json_body = {"application/json": {"schema": {"$ref": "#/components/schemas/OverlayCommand"}}}
state_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/OverlayState"}}}
PATHS: dict[str, Any] = {
    "/api/v1/sessions/{session_id}/overlay": {
        "get": {
            "summary": "Current overlay state of a session (producer, advisor)",
            "parameters": SESSION_PARAM,
            "responses": {"200": {"description": "State", "content": state_ref}, **error_responses(401, 403, 404)},
        },
        "post": {
            "summary": "Send an overlay command: switch scene, pick batch, feature or clear a question, ticker, site, countdown",
            "description": "Advisors may only send featured and featured_clear. Answers once this instance applied it.",
            "parameters": SESSION_PARAM,
            "requestBody": {"required": True, "content": json_body},
            "responses": {
                "200": {"description": "Applied; the new state", "content": state_ref},
                "202": {"description": "Published but not yet applied here"},
                **error_responses(400, 401, 403, 404, 413, 422),
            },
        },
    },
    "/api/v1/sessions/{session_id}/overlay-token": {
        "post": {
            "summary": "Rotate the session's OBS overlay token; returns the new overlay URLs (shown once)",
            "parameters": SESSION_PARAM,
            "responses": {
                "201": {"description": "New token and URLs", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"token": {"type": "string"}, "program": {"type": "string"},
                                                     "urls": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
                **error_responses(401, 403, 404),
            },
        }
    },
}
SCHEMAS = {"OverlayState": STATE_SCHEMA, "OverlayCommand": COMMAND_SCHEMA}
