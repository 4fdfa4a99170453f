"""Advisors' follow-up pages (跟进单): the list with overdue flags and batch alerts, one case with its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth.access import roles
from livebot.cases import conversation, service, store
from livebot.cases.api import MAX_MESSAGE, actor_of, case_detail, id_param, settings_of
from livebot.cases.categories import ACTION_LABELS, CATEGORIES, STATUS_LABELS
from livebot.errors import ValidationError
from livebot.storage.base import utcnow

routes = web.RouteTableDef()
BEIJING = ZoneInfo("Asia/Shanghai")
MAX_NOTE = 2000


def local(value: str | datetime | None) -> str:
    """A stored UTC time as 北京时间 for people (``12月07日 18:05``)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(BEIJING).strftime("%m月%d日 %H:%M")


@routes.get("/cases")
@roles("advisor", "marketing")
@aiohttp_jinja2.template("cases/list.html")
async def case_list(request: web.Request) -> dict[str, Any]:
    status = request.query.get("status", "")
    if status and status not in STATUS_LABELS:
        status = ""
    lot = request.query.get("lot", "")[:64] or None
    db, now = request.app[DATABASE], utcnow()
    cases = await store.list_cases(db, status=status or None, lot=lot)
    alerts = await service.batch_alerts(db, settings_of(request).alert_threshold)
    rows = [service.case_payload(case, now) for case in cases]
    return {"cases": rows, "alerts": alerts, "status": status, "lot": lot or "", "statuses": STATUS_LABELS, "local": local,
            "overdue": sum(1 for row in rows if row["overdue"]), "categories": {c.key: c.label for c in CATEGORIES}}


@routes.get(r"/cases/{case_id:\d+}")
@roles("advisor", "marketing")
@aiohttp_jinja2.template("cases/detail.html")
async def case_page(request: web.Request) -> dict[str, Any]:
    detail = await case_detail(request, id_param(request))
    return {**detail, "statuses": STATUS_LABELS, "actions": ACTION_LABELS, "local": local,
            "notice": request.query.get("notice", "")}


async def form_of(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {key: str(value) for key, value in data.items() if isinstance(value, str)}


@routes.post(r"/cases/{case_id:\d+}/status")
@roles("advisor")
async def move_form(request: web.Request) -> web.Response:
    case_id, form = id_param(request), await form_of(request)
    target = form.get("status", "")
    if target not in STATUS_LABELS:
        raise ValidationError("status", "请选择新的状态")
    version = form.get("version", "")
    await store.move(request.app[DATABASE], case_id, target, actor_of(request), form.get("note", "")[:MAX_NOTE].strip(),
                     int(version) if version.isdigit() else None)
    raise web.HTTPSeeOther(f"/cases/{case_id}?notice=status")


@routes.post(r"/cases/{case_id:\d+}/notes")
@roles("advisor")
async def note_form(request: web.Request) -> web.Response:
    case_id, form = id_param(request), await form_of(request)
    note = form.get("note", "")[:MAX_NOTE].strip()
    if not note:
        raise ValidationError("note", "备注不能为空")
    await store.add_note(request.app[DATABASE], case_id, note, actor_of(request))
    raise web.HTTPSeeOther(f"/cases/{case_id}?notice=note")


@routes.post(r"/cases/{case_id:\d+}/batch")
@roles("advisor")
async def batch_form(request: web.Request) -> web.Response:
    case_id, form = id_param(request), await form_of(request)
    code = form.get("code", "").strip()[:128]
    if not code:
        raise ValidationError("code", "请填写批号或罐码")
    await service.record_batch(request.app[DATABASE], case_id, code, actor_of(request))
    raise web.HTTPSeeOther(f"/cases/{case_id}?notice=batch")


@routes.post(r"/cases/{case_id:\d+}/messages")
@roles("advisor")
async def message_form(request: web.Request) -> web.Response:
    case_id, form = id_param(request), await form_of(request)
    text = form.get("text", "").strip()[:MAX_MESSAGE]
    if not text:
        raise ValidationError("text", "消息不能为空")
    await conversation.send(request.app, case_id, text, actor_of(request))
    raise web.HTTPSeeOther(f"/cases/{case_id}?notice=message")
