"""The 导播台 pages: landing (/producer), session editor, live control, calendar; and the .ics feeds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth.access import public, roles
from livebot.schedule import calendar, store
from livebot.schedule.api import feed_links, session_conflicts
from livebot.schedule.errors import UnknownSite
from livebot.schedule.keys import CLOCK, RUNNER, SCHEDULE_SETTINGS
from livebot.schedule.live import STATUS_NAMES, TRANSITIONS
from livebot.schedule.models import SEGMENT_SCENES, SITE_ROLES
from livebot.schedule.validate import clock_text
from livebot.topics import OVERLAY_SCENES, overlay_scene

routes = web.RouteTableDef()

ROLE_NAMES = {"studio": "演播厅", "factory": "工厂", "farm": "牧场", "lab": "实验室"}
SCENE_NAMES = {alias: OVERLAY_SCENES[overlay_scene(alias) or ""] for alias in SEGMENT_SCENES}
"""A segment's scene by the same Chinese name the overlay page and OBS sources use."""
ACTION_NAMES = {"scheduled": "排期", "draft": "退回草稿", "live": "开播", "ended": "结束直播", "cancelled": "取消场次"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(moment: datetime | None, fmt: str = "%m-%d %H:%M", zone: str = "Asia/Shanghai") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt) if moment else "—"


def common() -> dict[str, Any]:
    return {"status_names": STATUS_NAMES, "role_names": ROLE_NAMES, "scene_names": SCENE_NAMES, "local": local,
            "clock_text": clock_text, "scenes": SEGMENT_SCENES, "roles": SITE_ROLES}


@routes.get("/producer")
@roles("producer")
async def landing(request: web.Request) -> web.Response:
    db, now = request.app[DATABASE], request.app[CLOCK]()
    rows = await store.list_sessions(db)
    sites = await store.list_sites(db)
    names = {s.id: s.name for s in sites}
    site_map = {r.id: [names[x] for x in await store.session_site_ids(db, r.id) if x in names] for r in rows}
    upcoming = [r for r in rows if r.status in ("draft", "scheduled")]
    ended = sorted((r for r in rows if r.status in ("ended", "cancelled")), key=lambda r: r.planned_start, reverse=True)
    problems = await store.job_runs(db, outcomes=("missed", "failed"), limit=10)
    conflicts = await session_conflicts(request.app, now - timedelta(days=1), None)
    context = {**common(), "live": [r for r in rows if r.status == "live"], "upcoming": upcoming, "ended": ended[:10],
               "sites": sites, "site_map": site_map, "problems": problems, "conflicts": conflicts,
               "titles": {r.id: r.title for r in rows}, "now": now,
               "default_start": (now + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=20, minute=0, second=0,
                                                                                       microsecond=0)}
    return aiohttp_jinja2.render_template("schedule/producer.html", request, context)


@routes.get(r"/producer/sessions/{session_id:\d{1,15}}")
@roles("producer")
async def editor(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    session_id = int(request.match_info["session_id"])
    detail = await store.session_detail(db, session_id)
    row = await store.get_session(db, session_id)
    runs = await store.job_runs(db, session_id=session_id, limit=50)
    runner = request.app.get(RUNNER)
    sites = await store.list_sites(db)
    context = {**common(), "session": row, "detail": detail, "sites": sites, "site_names": {s.id: s for s in sites},
               "actions": [(t, ACTION_NAMES[t]) for t in sorted(TRANSITIONS[row.status])],
               "runs": runs, "jobs": await runner.stored_jobs(session_id) if runner else [],
               "length_s": int((row.planned_end - row.planned_start).total_seconds())}
    return aiohttp_jinja2.render_template("schedule/session.html", request, context)


@routes.get(r"/producer/sessions/{session_id:\d{1,15}}/live")
@roles("producer")
async def live_console(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    session_id = int(request.match_info["session_id"])
    row = await store.get_session(db, session_id)
    sites = await store.session_sites(db, session_id)
    slug = request.query.get("site", "")
    here = next((s for s in sites if s.slug == slug), sites[0] if sites else None)
    context = {**common(), "session": row, "sites": sites, "here": here}
    return aiohttp_jinja2.render_template("schedule/live.html", request, context)


def parse_day(value: str, today: date) -> date:
    """The ``?date=`` to show, or today for a missing, broken or absurd one (years 1900-2999)."""
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        return today
    return day if 1900 <= day.year <= 2999 else today


@routes.get("/producer/calendar")
@roles("producer")
async def calendar_page(request: web.Request) -> web.Response:
    db, now = request.app[DATABASE], request.app[CLOCK]()
    today = now.astimezone(SHANGHAI).date()
    day = parse_day(request.query.get("date", ""), today)
    view = "week" if request.query.get("view") == "week" else "month"
    if view == "week":
        days = calendar.week_days(day)
        first, after = days[0], days[-1] + timedelta(days=1)
        previous, following = day - timedelta(days=7), day + timedelta(days=7)
        heading = f"{first:%Y年%m月%d日} – {days[-1]:%m月%d日}"
    else:
        first, after, days = calendar.month_days(day.year, day.month)
        previous = (first - timedelta(days=1)).replace(day=1)
        following = after
        heading = f"{first:%Y年%m月}"
    start, end = calendar.range_bounds(days[0], days[-1] + timedelta(days=1))
    rows = await store.list_sessions(db, start, end)
    found = await session_conflicts(request.app, start, end)
    flagged = {sid for c in found for sid in c.session_ids}
    sites = await store.list_sites(db)
    context = {**common(), "weeks": calendar.grid(days, first, after, rows), "view": view, "day": day, "today": today,
               "heading": heading, "previous": previous, "following": following, "conflicts": found,
               "flagged": flagged, "weekdays": calendar.WEEKDAYS, "feeds": feed_links(request.app, sites),
               "titles": {r.id: r.title for r in rows}}
    return aiohttp_jinja2.render_template("schedule/calendar.html", request, context)


async def ics_response(request: web.Request, feed: str, sessions: list[Any], name: str) -> web.Response:
    key = calendar.feed_key(request.app[CONFIG], request.app[SCHEDULE_SETTINGS])
    if not calendar.token_ok(key, feed, request.query.get("token", "")):
        return web.Response(status=403, text="日历订阅链接无效或已更换", content_type="text/plain", charset="utf-8")
    db = request.app[DATABASE]
    names = {s.id: s.name for s in await store.list_sites(db)}
    site_names = {r.id: [names[x] for x in await store.session_site_ids(db, r.id) if x in names] for r in sessions}
    base = request.app[CONFIG].server.base_url
    host = urlsplit(base).hostname or "livebot"
    body = calendar.ics_feed(sessions, site_names, host, base, name, request.app[CLOCK]())
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Cache-Control": "private, max-age=300"})


def feed_window(now: datetime) -> tuple[datetime, datetime]:
    """Calendar apps want the recent past and the season ahead, not the whole history."""
    return now - timedelta(days=90), now + timedelta(days=366)


@routes.get("/calendar/all.ics")
@public
async def all_feed(request: web.Request) -> web.Response:
    start, end = feed_window(request.app[CLOCK]())
    rows = await store.list_sessions(request.app[DATABASE], start, end)
    return await ics_response(request, "all", rows, "溯源直播 · 全部场次")


@routes.get(r"/calendar/site/{slug:[a-z0-9][a-z0-9-]{0,63}}.ics")
@public
async def site_feed(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    slug = request.match_info["slug"]
    try:
        site = await store.site_by_slug(db, slug)
    except UnknownSite:
        key = calendar.feed_key(request.app[CONFIG], request.app[SCHEDULE_SETTINGS])
        if not calendar.token_ok(key, f"site:{slug}", request.query.get("token", "")):
            return web.Response(status=403, text="日历订阅链接无效或已更换", content_type="text/plain", charset="utf-8")
        raise
    start, end = feed_window(request.app[CLOCK]())
    rows = [r for r in await store.list_sessions(db, start, end) if site.id in await store.session_site_ids(db, r.id)]
    return await ics_response(request, f"site:{slug}", rows, f"溯源直播 · {site.name}")
