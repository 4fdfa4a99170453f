"""Marketing pages (数据报表): session list, session report, war room, season comparison."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth.access import roles
from livebot.cases.api_internal import cases_by_id
from livebot.console.api_internal import card_lines
from livebot.engagement import corrections, store
from livebot.engagement.advisors import advisor_rows
from livebot.engagement.charts import hbars
from livebot.engagement.keys import ENGAGEMENT_SETTINGS, REPORTER
from livebot.engagement.live import live_snapshot
from livebot.engagement.names import GLOSSARY
from livebot.engagement.report import zone_of
from livebot.engagement.season import METRICS, season
from livebot.engagement.service import PANELS, date_param, ids_param, report_for, session_param
from livebot.engagement.visuals import report_charts
from livebot.errors import ValidationError
from livebot.storage.base import utcnow

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
ADVISOR_CARD_FIGURES = {"answered": "回复的问题", "claims": "认领", "released": "主动释放", "expired": "认领超时",
                        "dismissed": "忽略", "escalated": "升级"}
ADVISOR_CASE_FIGURES = {"opened": "新开跟进单", "resolved": "已解决跟进单", "overdue": "超时跟进单"}
STATUS_NAMES = {"draft": "草稿", "scheduled": "已排期", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}
NOTICES = {"regenerated": "报告已重新生成", "sent": "摘要已发送到企业微信群", "send_failed": "部分企业微信群发送失败，详见日志"}


@routes.get("/reports")
@roles("marketing")
async def landing(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    sessions = await store.list_sessions(db, ("live", "ended"))
    live = [s for s in sessions if s.status == "live"]
    ended = [s for s in sessions if s.status == "ended"][:100]
    stored = await store.report_summaries(db, [s.id for s in ended])
    rows = []
    for s in ended:
        zone = zone_of(s.timezone)
        start = s.started_at or s.planned_start
        rows.append({"id": s.id, "title": s.title, "theme": s.theme, "start": start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                     "summary": (stored.get(s.id) or {}).get("summary")})
    return aiohttp_jinja2.render_template("engagement/reports.html", request, {
        "live": [{"id": s.id, "title": s.title, "theme": s.theme,
                  "start": (s.started_at or s.planned_start).astimezone(zone_of(s.timezone)).strftime("%m-%d %H:%M")}
                 for s in live],
        "ended": rows,
    })


@routes.get("/reports/sessions/{session_id}")
@roles("marketing")
async def session_report(request: web.Request) -> web.Response:
    session_id = session_param(request)
    report, stored_at = await report_for(request.app, session_id, fresh=request.query.get("fresh") == "1")
    zone = zone_of(report["session"]["timezone"])
    return aiohttp_jinja2.render_template("engagement/session.html", request, {
        "report": report, "charts": report_charts(report), "glossary": GLOSSARY, "status_names": STATUS_NAMES,
        "stored": stored_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if stored_at else "",
        "robots": bool(request.app[ENGAGEMENT_SETTINGS].report_robot_urls), "notice": NOTICES.get(request.query.get("notice", ""), ""),
        "drill_down": True, "messages": await message_rows(request, session_id, zone), "label_names": corrections.LABEL_NAMES,
    })


async def message_rows(request: web.Request, session_id: int, zone: Any) -> list[dict[str, Any]]:
    """The session's latest labelled comments for the 评论情感 list (each can be corrected with one click)."""
    rows = await corrections.session_messages(request.app[DATABASE], session_id)
    return [{**row, "time": row["ts"].astimezone(zone).strftime("%H:%M:%S"),
             "label": row["corrected"] or row["model_label"]} for row in rows]


@routes.get("/reports/sessions/{session_id}/advisors/{username}")
@roles("marketing")
async def advisor_drill_down(request: web.Request) -> web.Response:
    """The questions and cases behind each per-advisor figure of a session."""
    session_id, username = session_param(request), request.match_info["username"][:64]
    db = request.app[DATABASE]
    rows = {row["username"]: row for row in await advisor_rows(db, session_id, utcnow())}
    row = rows.get(username)
    if row is None:
        raise web.HTTPNotFound(text="这位顾问在本场没有记录")
    cards = await card_lines(db, sorted({i for ids in row["cards"].values() for i in ids}))
    cases = await cases_by_id(db, sorted({i for ids in row["cases"].values() for i in ids}))
    return aiohttp_jinja2.render_template("engagement/advisor.html", request, {
        "session_id": session_id, "row": row, "cards": cards, "cases": cases,
        "card_figures": ADVISOR_CARD_FIGURES, "case_figures": ADVISOR_CASE_FIGURES,
    })


@routes.post("/reports/sessions/{session_id}/regenerate")
@roles("marketing")
async def regenerate(request: web.Request) -> web.Response:
    session_id = session_param(request)
    await request.app[REPORTER].generate(session_id, "manual")
    raise web.HTTPSeeOther(f"/reports/sessions/{session_id}?notice=regenerated")


@routes.post("/reports/sessions/{session_id}/send")
@roles("marketing")
async def send(request: web.Request) -> web.Response:
    session_id = session_param(request)
    report, _ = await report_for(request.app, session_id)
    failures = await request.app[REPORTER].send(session_id, report, only_once=False)
    raise web.HTTPSeeOther(f"/reports/sessions/{session_id}?notice={'send_failed' if failures else 'sent'}")


@routes.get("/reports/sessions/{session_id}/live")
@roles("marketing")
async def war_room(request: web.Request) -> web.Response:
    session_id = session_param(request)
    context = await panel_context(request, session_id)
    return aiohttp_jinja2.render_template("engagement/warroom.html", request, context)


@routes.get("/reports/sessions/{session_id}/live/panel")
@roles("marketing")
async def war_room_panel(request: web.Request) -> web.Response:
    """The war room's changing part, polled by the page every few seconds."""
    session_id = session_param(request)
    context = await panel_context(request, session_id)
    response = aiohttp_jinja2.render_template("engagement/_warroom_panel.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def panel_context(request: web.Request, session_id: int) -> dict[str, Any]:
    app = request.app
    report = await app[PANELS].get(app, session_id)
    now = utcnow()
    snapshot = await live_snapshot(app[DATABASE], session_id, app[ENGAGEMENT_SETTINGS], now)
    zone = zone_of(report["session"]["timezone"])
    return {"report": report, "charts": report_charts(report, topics=False), "live": snapshot, "glossary": GLOSSARY,
            "status_names": STATUS_NAMES, "updated": now.astimezone(zone).strftime("%H:%M:%S"),
            "window": app[ENGAGEMENT_SETTINGS].sentiment_window_minutes,
            "interval_ms": int(min(max(app[ENGAGEMENT_SETTINGS].flush_seconds, 1.0), 60.0) * 1000)}


@routes.get("/reports/compare")
@roles("marketing")
async def compare(request: web.Request) -> web.Response:
    ids = ids_param(request.query.get("ids", ""))
    theme = request.query.get("theme", "").strip()[:64] or None
    metric = request.query.get("metric", "viewers_peak")
    if metric not in METRICS:
        raise ValidationError("metric", f"应为 {', '.join(METRICS)} 之一")
    since, until = date_param(request, "since"), date_param(request, "until", end=True)
    data = await season(request.app[DATABASE], request.app[ENGAGEMENT_SETTINGS], ids=ids, theme=theme, since=since, until=until)
    themes = sorted({s.theme for s in await store.list_sessions(request.app[DATABASE], ("live", "ended")) if s.theme})
    name = METRICS[metric][0]
    theme_chart = hbars("themes", f"各主题平均{name}", [
        (t["theme"], float(t[metric] or 0), f"{t[metric] if t[metric] is not None else '—'}（{t['sessions']} 场）")
        for t in data["themes"]], color="#2f6fde", label_width=160)
    session_chart = hbars("sessions", f"各场次{name}", [
        (s["title"], float(s["summary"].get(metric) or 0), str(s["summary"].get(metric) if s["summary"].get(metric) is not None else "—"))
        for s in data["sessions"]], color="#16a085", label_width=260)
    return aiohttp_jinja2.render_template("engagement/compare.html", request, {
        "data": data, "metric": metric, "metrics": METRICS, "themes": themes, "theme": theme or "",
        "since": request.query.get("since", ""), "until": request.query.get("until", ""), "ids": ",".join(map(str, ids)),
        "theme_chart": theme_chart, "session_chart": session_chart, "glossary": GLOSSARY,
    })
