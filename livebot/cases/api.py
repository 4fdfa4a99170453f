"""The cases JSON API: open from a card, list, read with history, move, note, assign, batch alerts."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.cases import conversation, service, store
from livebot.cases.categories import BY_KEY, NEXT, STATUS_LABELS
from livebot.cases.settings import CasesSettings
from livebot.cases.store import Actor
from livebot.errors import NotFoundError, ValidationError
from livebot.formcheck import query_flag
from livebot.storage.base import utcnow
from livebot.trace import api_internal as trace
from livebot.web.body import json_object

routes = web.RouteTableDef()

MAX_NOTE = 2000
MAX_MESSAGE = 600
"""微信客服 takes 2048 bytes of UTF-8: about 680 Chinese characters."""
MAX_CODE = 128
CONTROL = {c for c in range(32) if c not in (9, 10)} | {127}


def actor_of(request: web.Request) -> Actor:
    identity = identity_of(request)
    assert identity is not None, "access middleware lets only known callers through"
    return Actor(identity.name, identity.display_name or identity.name)


def settings_of(request: web.Request) -> CasesSettings:
    return request.app[CONFIG].section("cases", CasesSettings)


def id_param(request: web.Request) -> int:
    try:
        value = int(request.match_info["case_id"])
    except ValueError as err:
        raise ValidationError("case_id", "必须是整数") from err
    if not 0 < value < 2**62:
        raise ValidationError("case_id", "超出范围")
    return value


def text(body: dict[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(name, "不能为空")
        return None
    if not isinstance(value, str):
        raise ValidationError(name, "应为字符串")
    if len(value) > limit:
        raise ValidationError(name, f"最多 {limit} 个字符")
    cleaned = "".join(ch for ch in value if ord(ch) not in CONTROL).strip()
    if required and not cleaned:
        raise ValidationError(name, "不能为空")
    return cleaned or None


def int_field(body: dict[str, Any], name: str, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationError(name, "不能为空")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        raise ValidationError(name, "应为正整数")
    return value


async def case_detail(request: web.Request, case_id: int) -> dict[str, Any]:
    db = request.app[DATABASE]
    case, events = await store.get_case(db, case_id)
    batch = await request.app[trace.TRACE_FACTS].batch_summary(db, case.lot) if case.lot else None
    same_lot = (await store.lot_counts(db, case.category, [case.lot])).get(case.lot, 0) if case.lot else 0
    return {
        "case": service.case_payload(case),
        "history": [{"action": e.action, "from": e.from_status, "to": e.to_status, "note": e.note, "actor": e.actor,
                     "actor_name": e.actor_name, "at": e.at.isoformat()} for e in events],
        "next": list(NEXT.get(case.status, ())),
        "batch": batch,
        "same_lot_cases": same_lot,
        "conversation": await conversation.conversation_state(request.app, case_id),
    }


@routes.post("/api/v1/cases")
@roles("advisor")
async def open_case(request: web.Request) -> web.Response:
    body = await json_object(request)
    card_id = int_field(body, "card_id", required=True)
    category = text(body, "category", 16)
    if category is not None and category not in BY_KEY:
        raise ValidationError("category", f"应为 {', '.join(BY_KEY)} 之一")
    lot = text(body, "lot", 64)
    can_code = text(body, "can_code", MAX_CODE)
    assert card_id is not None
    case, created = await service.open_from_card(request.app[DATABASE], card_id, actor_of(request), category, lot, can_code)
    return web.json_response(await case_detail(request, case.id), status=201 if created else 200)


@routes.get("/api/v1/cases")
@roles("advisor", "marketing")
async def list_cases(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None and status not in STATUS_LABELS:
        raise ValidationError("status", f"应为 {', '.join(STATUS_LABELS)} 之一")
    overdue = query_flag(request.query, "overdue")
    lot = request.query.get("lot") or None
    if lot is not None and len(lot) > 64:
        raise ValidationError("lot", "最多 64 个字符")
    now = utcnow()
    cases = await store.list_cases(request.app[DATABASE], status=status, lot=lot, overdue_at=now if overdue else None)
    return web.json_response({"cases": [service.case_payload(c, now) for c in cases]})


@routes.get("/api/v1/cases/alerts")
@roles("advisor", "marketing")
async def alerts(request: web.Request) -> web.Response:
    found = await service.batch_alerts(request.app[DATABASE], settings_of(request).alert_threshold)
    return web.json_response({"alerts": [{"lot": a.lot, "category": a.category, "count": a.count} for a in found]})


@routes.get("/api/v1/cases/{case_id}")
@roles("advisor", "marketing")
async def get_case(request: web.Request) -> web.Response:
    return web.json_response(await case_detail(request, id_param(request)))


@routes.post("/api/v1/cases/{case_id}/status")
@roles("advisor")
async def move(request: web.Request) -> web.Response:
    body = await json_object(request)
    target = text(body, "status", 16, required=True)
    if target not in STATUS_LABELS:
        raise ValidationError("status", f"应为 {', '.join(STATUS_LABELS)} 之一")
    note = text(body, "note", MAX_NOTE) or ""
    case_id = id_param(request)
    await store.move(request.app[DATABASE], case_id, target, actor_of(request), note, int_field(body, "version"))
    return web.json_response(await case_detail(request, case_id))


@routes.post("/api/v1/cases/{case_id}/notes")
@roles("advisor")
async def note(request: web.Request) -> web.Response:
    body = await json_object(request)
    case_id = id_param(request)
    await store.add_note(request.app[DATABASE], case_id, text(body, "note", MAX_NOTE, required=True) or "", actor_of(request))
    return web.json_response(await case_detail(request, case_id))


@routes.post("/api/v1/cases/{case_id}/assign")
@roles("advisor")
async def assign(request: web.Request) -> web.Response:
    """Take the case (no body) or hand it to ``owner`` (a username, shown as ``owner_name``)."""
    body = await json_object(request)
    me = actor_of(request)
    owner = text(body, "owner", 64)
    owner_actor = Actor(owner, text(body, "owner_name", 128) or owner) if owner else me
    case_id = id_param(request)
    await store.assign(request.app[DATABASE], case_id, owner_actor, me)
    return web.json_response(await case_detail(request, case_id))


@routes.post("/api/v1/cases/{case_id}/batch")
@roles("advisor")
async def batch(request: web.Request) -> web.Response:
    """Record the batch the parent named: a lot number, can code or Digital Link (an unknown one is a 404)."""
    body = await json_object(request)
    case_id = id_param(request)
    code = text(body, "code", MAX_CODE, required=True) or ""
    try:
        await service.record_batch(request.app[DATABASE], case_id, code, actor_of(request))
    except ValidationError as err:
        if err.field != "code":
            raise
        raise NotFoundError(str(err)) from err
    return web.json_response(await case_detail(request, case_id))


@routes.post("/api/v1/cases/{case_id}/messages")
@roles("advisor")
async def message(request: web.Request) -> web.Response:
    """Write to the case's viewer on 微信客服 (within 48 hours of their last message)."""
    body = await json_object(request)
    case_id = id_param(request)
    await conversation.send(request.app, case_id, text(body, "text", MAX_MESSAGE, required=True) or "", actor_of(request))
    return web.json_response(await case_detail(request, case_id))
