"""JSON API of the engagement area (role marketing): reports, live figures, minutes, exports, rebuilds."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth import audit
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.engagement import corrections, exports, store
from livebot.engagement.keys import ENGAGEMENT_SETTINGS, LIVE, REPORTER
from livebot.engagement.live import live_snapshot
from livebot.engagement.platform_totals import import_file
from livebot.engagement.rebuild import rebuild
from livebot.engagement.report import iso
from livebot.engagement.season import season
from livebot.engagement.service import bool_param, date_param, ids_param, report_for, session_param
from livebot.errors import ValidationError
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.web.body import json_object
from livebot.web.errors import json_dumps

routes = web.RouteTableDef()
P = "/api/v1/engagement"
ROW_FIELDS = ("minute", "platform", "site_id", "segment_id", "comments", "chatters", "visitors", "enters", "likes", "gifts",
              "gift_value", "follows", "shares", "viewers_last", "viewers_last_at", "viewers_peak", "viewers_samples",
              "positive", "neutral", "negative", "sentiment_sum", "sentiment_n", "hidden", "merged", "questions",
              "answered", "response_ms")


def json(data: Any) -> web.Response:
    return web.json_response(data, dumps=json_dumps)


@routes.get(P + "/sessions/{session_id}/report")
@roles("marketing")
async def get_report(request: web.Request) -> web.Response:
    report, _ = await report_for(request.app, session_param(request), fresh=bool_param(request, "fresh"))
    return json(report)


@routes.post(P + "/sessions/{session_id}/report")
@roles("marketing")
async def regenerate(request: web.Request) -> web.Response:
    """Rebuild the figures and store the report now; ``{"send": true}`` also posts it to the robots."""
    session_id = session_param(request)
    body = await json_object(request)
    send = body.get("send", False)
    if not isinstance(send, bool):
        raise ValidationError("send", "应为 true 或 false")
    reporter = request.app[REPORTER]
    data = await reporter.generate(session_id, "manual")
    failures = await reporter.send(session_id, data, only_once=False) if send else []
    return json({"session_id": session_id, "generated_at": data["generated_at"], "robot_failures": failures})


@routes.get(P + "/sessions/{session_id}/live")
@roles("marketing")
async def get_live(request: web.Request) -> web.Response:
    session_id = session_param(request)
    await schedule.get_session(request.app[DATABASE], session_id)
    return json(await live_snapshot(request.app[DATABASE], session_id, request.app[ENGAGEMENT_SETTINGS], utcnow()))


@routes.get(P + "/sessions/{session_id}/minutes")
@roles("marketing")
async def get_minutes(request: web.Request) -> web.Response:
    """The stored minute rows (per platform, site and segment), without the per-user sets."""
    session_id = session_param(request)
    await schedule.get_session(request.app[DATABASE], session_id)
    rows = await store.minute_rows(request.app[DATABASE], session_id, with_keys=False)
    return json({"session_id": session_id, "minutes": [
        {k: (iso(row[k]) if k in ("minute", "viewers_last_at") else row[k]) for k in ROW_FIELDS} for row in rows]})


@routes.get(P + "/sessions/{session_id}/export")
@roles("marketing")
async def export(request: web.Request) -> web.Response:
    session_id = session_param(request)
    fmt = request.query.get("format", "xlsx")
    table = request.query.get("table", "minutes")
    if fmt not in exports.FORMATS:
        raise ValidationError("format", f"应为 {', '.join(exports.FORMATS)} 之一")
    if table not in exports.CSV_TABLES:
        raise ValidationError("table", f"应为 {', '.join(exports.CSV_TABLES)} 之一")
    report, _ = await report_for(request.app, session_id, fresh=bool_param(request, "fresh"))
    body = exports.render(report, fmt, table)
    name = exports.filename(report, fmt, table)
    identity = identity_of(request)
    await audit.record(request.app[DATABASE], f"{identity.kind}:{identity.name}" if identity else "unknown", "export",
                       f"engagement session {session_id}", format=fmt, table=table,
                       names="anonymised" if report["topics"].get("anonymized") else "real")
    return web.Response(body=body, headers={
        "Content-Type": exports.CONTENT_TYPES[fmt], "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@routes.post(P + "/sessions/{session_id}/rebuild")
@roles("marketing")
async def post_rebuild(request: web.Request) -> web.Response:
    session_id = session_param(request)
    async with request.app[LIVE].session_lock(session_id):
        result = await rebuild(request.app[DATABASE], session_id)
    return json({"session_id": result.session_id, "events": result.events, "rows": result.rows, "minutes": result.minutes})


@routes.get(P + "/season")
@roles("marketing")
async def get_season(request: web.Request) -> web.Response:
    theme = request.query.get("theme", "").strip()
    if len(theme) > 64:
        raise ValidationError("theme", "最多 64 个字符")
    data = await season(request.app[DATABASE], request.app[ENGAGEMENT_SETTINGS], ids=ids_param(request.query.get("ids", "")),
                        theme=theme or None, since=date_param(request, "since"), until=date_param(request, "until", end=True))
    return json(data)


@routes.post(P + "/sessions/{session_id}/platform-totals")
@roles("marketing")
async def post_platform_totals(request: web.Request) -> web.Response:
    """The body is a platform's exported CSV or xlsx file; ``?platform=douyin`` says whose."""
    session_id = session_param(request)
    raw = await request.read()
    name = request.query.get("filename", "")[:255] or "upload"
    identity = identity_of(request)
    found = await import_file(request.app[DATABASE], session_id, request.query.get("platform", ""), raw, name,
                              identity.name if identity else "", request.app[ENGAGEMENT_SETTINGS].platform_columns)
    return json({"session_id": session_id, "platform": found.platform, "rows": found.rows, "figures": found.values})


CORRECTORS = ("advisor", "marketing", "admin")


@routes.post(P + "/sessions/{session_id}/sentiment/corrections")
@roles(*CORRECTORS)
async def post_correction(request: web.Request) -> web.Response:
    """``{"message_id", "label"}``: the right sentiment of one of the session's comments (replaces an earlier one)."""
    session_id = session_param(request)
    body = await json_object(request)
    message_id = corrections.message_id_param(body.get("message_id"))
    label = corrections.label_param(body.get("label"))
    identity = identity_of(request)
    by = f"{identity.kind}:{identity.name}" if identity else "unknown"
    return json(await corrections.correct(request.app[DATABASE], session_id, message_id, label, by))


@routes.get(P + "/sessions/{session_id}/sentiment/corrections")
@roles(*CORRECTORS)
async def get_corrections(request: web.Request) -> web.Response:
    session_id = session_param(request)
    return json({"session_id": session_id, "corrections": await corrections.corrections(request.app[DATABASE], session_id)})


@routes.get(P + "/sessions/{session_id}/sentiment/corrections.jsonl")
@roles(*CORRECTORS)
async def get_corrections_jsonl(request: web.Request) -> web.Response:
    """Training lines for ``python -m livebot.sentiment.learned OUT FILE...``."""
    session_id = session_param(request)
    body = corrections.training_lines(await corrections.corrections(request.app[DATABASE], session_id))
    return web.Response(body=body, headers={
        "Content-Type": "application/x-ndjson; charset=utf-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="sentiment-corrections-{session_id}.jsonl"'})
