"""The schedule JSON API (role ``producer``): sites, sessions, segments, status, live control, calendar.

Handlers parse and check the whole request first (:mod:`livebot.schedule.validate`), write in one
transaction (:mod:`livebot.schedule.store`), then announce the change on the bus.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.errors import NeedsConfirmation, ValidationError
from livebot.schedule import calendar, live, lotcheck, store
from livebot.schedule.errors import UnknownSegment
from livebot.schedule.keys import CLOCK, RUNNER, SCHEDULE_SETTINGS
from livebot.schedule.validate import (
    LOT,
    LOT_MAX,
    MAX_LOTS,
    channel_input,
    id_list,
    moment,
    optional_id,
    require_mapping,
    segment_input,
    session_input,
    site_input,
    string_list,
    text,
)
from livebot.trace import api_internal as trace

routes = web.RouteTableDef()
P = "/api/v1/schedule"
ID = r"{%s:\d{1,15}}"
SITE, SESSION, SEGMENT, CHANNEL, CUE = (ID % n for n in ("site_id", "session_id", "segment_id", "channel_id", "cue_id"))
PRODUCER = ("producer",)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda obj: orjson.dumps(obj).decode())


def actor(request: web.Request) -> str:
    identity = identity_of(request)
    return identity.name if identity else "anonymous"


def path_id(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


async def body(request: web.Request) -> Any:
    """The JSON body; a broken one is a 400 naming ``body``."""
    try:
        return await request.json(loads=orjson.loads)
    except (ValueError, orjson.JSONDecodeError) as err:
        raise ValidationError("body", "不是有效的 JSON") from err


async def changed(request: web.Request, session_id: int, reason: str) -> None:
    await live.changed(request.app, session_id, reason)


# ---- sites -------------------------------------------------------------------------------------


@routes.get(f"{P}/sites")
@roles(*PRODUCER)
async def list_sites(request: web.Request) -> web.Response:
    return ok({"sites": [store.site_json(s) for s in await store.list_sites(request.app[DATABASE])]})


@routes.post(f"{P}/sites")
@roles(*PRODUCER)
async def create_site(request: web.Request) -> web.Response:
    site = await store.save_site(request.app[DATABASE], site_input(await body(request)))
    return ok(store.site_json(site), status=201)


@routes.get(f"{P}/sites/{SITE}")
@roles(*PRODUCER)
async def get_site(request: web.Request) -> web.Response:
    return ok(store.site_json(await store.get_site(request.app[DATABASE], path_id(request, "site_id"))))


@routes.patch(f"{P}/sites/{SITE}")
@roles(*PRODUCER)
async def update_site(request: web.Request) -> web.Response:
    db, site_id = request.app[DATABASE], path_id(request, "site_id")
    current = store.site_json(await store.get_site(db, site_id))
    site = await store.save_site(db, site_input(await body(request), current), site_id)
    return ok(store.site_json(site))


@routes.delete(f"{P}/sites/{SITE}")
@roles(*PRODUCER)
async def delete_site(request: web.Request) -> web.Response:
    await store.delete_site(request.app[DATABASE], path_id(request, "site_id"))
    return web.Response(status=204)


# ---- sessions ----------------------------------------------------------------------------------


def query_time(request: web.Request, name: str) -> datetime | None:
    return moment(dict(request.query), name, "Asia/Shanghai", required=False)


@routes.get(f"{P}/sessions")
@roles(*PRODUCER)
async def list_sessions(request: web.Request) -> web.Response:
    statuses = [s for s in request.query.get("status", "").split(",") if s]
    rows = await store.list_sessions(request.app[DATABASE], query_time(request, "from"), query_time(request, "to"), statuses)
    return ok({"sessions": [store.session_json(r) for r in rows]})


@routes.post(f"{P}/sessions")
@roles(*PRODUCER)
async def create_session(request: web.Request) -> web.Response:
    now = request.app[CLOCK]()
    raw = await body(request)
    data = session_input(raw, now)
    await check_overlap(request.app, data, raw, None)
    session_id = await store.create_session(request.app[DATABASE], data, actor(request), now)
    await changed(request, session_id, "created")
    return ok(await store.session_detail(request.app[DATABASE], session_id), status=201)


@routes.get(f"{P}/sessions/{SESSION}")
@roles(*PRODUCER)
async def get_session(request: web.Request) -> web.Response:
    return ok(await store.session_detail(request.app[DATABASE], path_id(request, "session_id")))


@routes.patch(f"{P}/sessions/{SESSION}")
@roles(*PRODUCER)
async def update_session(request: web.Request) -> web.Response:
    db, session_id = request.app[DATABASE], path_id(request, "session_id")
    row = await store.get_session(db, session_id)
    current = store.editable_fields(row, await store.control(db, session_id))
    raw = await body(request)
    data = session_input(raw, request.app[CLOCK](), current)
    if {"planned_start", "planned_end", "site_ids"} & set(raw):
        await check_overlap(request.app, data, raw, session_id)
    await store.update_session(db, session_id, data)
    await changed(request, session_id, "updated")
    return ok(await store.session_detail(db, session_id))


@routes.delete(f"{P}/sessions/{SESSION}")
@roles(*PRODUCER)
async def delete_session(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.delete_session(request.app[DATABASE], session_id)
    await changed(request, session_id, "deleted")
    return web.Response(status=204)


@routes.put(f"{P}/sessions/{SESSION}/sites")
@roles(*PRODUCER)
async def put_sites(request: web.Request) -> web.Response:
    db, session_id = request.app[DATABASE], path_id(request, "session_id")
    raw = require_mapping(await body(request))
    site_ids = id_list(raw, "site_ids", 10)
    row = await store.get_session(db, session_id)
    current = store.editable_fields(row, await store.control(db, session_id))
    data = session_input({"site_ids": site_ids}, request.app[CLOCK](), current)
    await check_overlap(request.app, data, raw, session_id)
    await store.update_session(db, session_id, data)
    await changed(request, session_id, "sites")
    return ok({"site_ids": await store.session_site_ids(db, session_id)})


@routes.get(f"{P}/sessions/{SESSION}/channels")
@roles(*PRODUCER)
async def list_channels(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.get_session(request.app[DATABASE], session_id)
    return ok({"channels": [store.channel_json(c) for c in await store.channels(request.app[DATABASE], session_id)]})


@routes.post(f"{P}/sessions/{SESSION}/channels")
@roles(*PRODUCER)
async def add_channel(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    row = await store.add_channel(request.app[DATABASE], session_id, channel_input(await body(request)))
    await changed(request, session_id, "channels")
    return ok(store.channel_json(row), status=201)


@routes.delete(f"{P}/sessions/{SESSION}/channels/{CHANNEL}")
@roles(*PRODUCER)
async def remove_channel(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.remove_channel(request.app[DATABASE], session_id, path_id(request, "channel_id"))
    await changed(request, session_id, "channels")
    return web.Response(status=204)


@routes.get(f"{P}/sessions/{SESSION}/lots")
@roles(*PRODUCER)
async def get_lots(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.get_session(request.app[DATABASE], session_id)
    return ok({"lots": await trace.session_lots(request.app[DATABASE], session_id)})


@routes.put(f"{P}/sessions/{SESSION}/lots")
@roles(*PRODUCER)
async def put_lots(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.get_session(request.app[DATABASE], session_id)
    lots = string_list(require_mapping(await body(request)), "lots", max_items=MAX_LOTS, max_len=LOT_MAX, pattern=LOT)
    await trace.set_session_lots(request.app[DATABASE], session_id, lots)
    await changed(request, session_id, "lots")
    return ok({"lots": lots})


@routes.post(f"{P}/sessions/{SESSION}/status")
@roles(*PRODUCER)
async def change_status(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    target = text(data, "status", max_len=16, required=True)
    row = await live.transition(request.app, path_id(request, "session_id"), target, actor(request))
    return ok(store.session_json(row))


# ---- segments ----------------------------------------------------------------------------------


@routes.get(f"{P}/sessions/{SESSION}/segments")
@roles(*PRODUCER)
async def list_segments(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.get_session(request.app[DATABASE], session_id)
    return ok({"segments": [s.as_json() for s in await store.segments(request.app[DATABASE], session_id)]})


@routes.post(f"{P}/sessions/{SESSION}/segments")
@roles(*PRODUCER)
async def create_segment(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    raw = require_mapping(await body(request))
    given = segment_input(raw)
    await lotcheck.check_known(request.app[trace.TRACE_FACTS], request.app[DATABASE], given.lot, flag(raw, "force"))
    segment = await store.create_segment(request.app[DATABASE], session_id, given)
    await changed(request, session_id, "segments")
    return ok(segment.as_json(), status=201)


@routes.patch(f"{P}/sessions/{SESSION}/segments/{SEGMENT}")
@roles(*PRODUCER)
async def update_segment(request: web.Request) -> web.Response:
    db, session_id, segment_id = request.app[DATABASE], path_id(request, "session_id"), path_id(request, "segment_id")
    raw = require_mapping(await body(request))
    current = next((s.as_json() for s in await store.segments(db, session_id) if s.id == segment_id), None)
    if current is None:
        await store.get_session(db, session_id)
        raise UnknownSegment(f"本场次没有编号为 {segment_id} 的段落")
    given = segment_input(raw, current)
    if "lot" in raw and given.lot != current.get("lot"):
        await lotcheck.check_known(request.app[trace.TRACE_FACTS], db, given.lot, flag(raw, "force"))
    segment = await store.update_segment(db, session_id, segment_id, [k for k in raw if k != "force"], given)
    await changed(request, session_id, "segments")
    return ok(segment.as_json())


@routes.delete(f"{P}/sessions/{SESSION}/segments/{SEGMENT}")
@roles(*PRODUCER)
async def delete_segment(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.delete_segment(request.app[DATABASE], session_id, path_id(request, "segment_id"))
    await changed(request, session_id, "segments")
    return web.Response(status=204)


@routes.post(f"{P}/sessions/{SESSION}/segments/reorder")
@roles(*PRODUCER)
async def reorder_segments(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    order = id_list(require_mapping(await body(request)), "order", 200)
    segs = await store.reorder_segments(request.app[DATABASE], session_id, order)
    await changed(request, session_id, "segments")
    return ok({"segments": [s.as_json() for s in segs]})


# ---- live control ------------------------------------------------------------------------------


@routes.get(f"{P}/sessions/{SESSION}/timeline")
@roles(*PRODUCER, "marketing")
async def get_timeline(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.get_session(request.app[DATABASE], session_id)
    return ok({"timeline": [i.as_json() for i in await store.timeline(request.app[DATABASE], session_id)]})


@routes.get(f"{P}/sessions/{SESSION}/live")
@roles(*PRODUCER)
async def get_live(request: web.Request) -> web.Response:
    return ok(await live.state(request.app, path_id(request, "session_id")))


@routes.post(f"{P}/sessions/{SESSION}/advance")
@roles(*PRODUCER)
async def advance(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    segment = await live.advance(request.app, path_id(request, "session_id"), actor(request), optional_id(data, "segment_id"),
                                 go_back=flag(data, "go_back"))
    return ok({"segment": segment})


async def check_overlap(app: web.Application, data: Any, raw: Any, session_id: int | None) -> None:
    """A session sharing a site with another at the same time needs ``allow_overlap`` (409 names the other)."""
    if flag(require_mapping(raw), "allow_overlap"):
        return
    db = app[DATABASE]
    mine = set(data.site_ids if data.site_ids is not None else await store.session_site_ids(db, session_id or 0))
    if not mine:
        return
    names = {s.id: s.name for s in await store.list_sites(db)}
    for other in await store.list_sessions(db, data.planned_start, data.planned_end, ("draft", "scheduled", "live")):
        if other.id == session_id:
            continue
        shared = sorted(mine & set(await store.session_site_ids(db, other.id)))
        if shared:
            raise NeedsConfirmation(
                f"与场次《{other.title}》（编号 {other.id}）时间重叠，且共用站点“{'、'.join(names.get(i, str(i)) for i in shared)}”；"
                "确认两场同时进行请再确认一次", "planned_start", "allow_overlap")


def flag(data: Mapping[str, Any], field: str) -> bool:
    """An optional JSON boolean (absent: false)."""
    value = data.get(field, False)
    if not isinstance(value, bool):
        raise ValidationError(field, "应为 true 或 false")
    return value


@routes.post(f"{P}/sessions/{SESSION}/site")
@roles(*PRODUCER)
async def switch_site(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    site_id = optional_id(data, "site_id")
    if site_id is None:
        raise ValidationError("site_id", "必填")
    await live.switch_site(request.app, path_id(request, "session_id"), site_id, actor(request))
    return ok({"on_air_site_id": site_id})


@routes.post(f"{P}/sessions/{SESSION}/mode")
@roles(*PRODUCER)
async def set_mode(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    mode = text(data, "mode", max_len=8, required=True)
    await live.set_mode(request.app, path_id(request, "session_id"), mode, actor(request))
    return ok({"mode": mode})


@routes.post(f"{P}/sessions/{SESSION}/cues")
@roles(*PRODUCER)
async def post_cue(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    message = await live.cue(
        request.app, path_id(request, "session_id"), text(data, "cue", max_len=16, required=True), actor(request),
        from_site_id=optional_id(data, "from_site_id"), segment_id=optional_id(data, "segment_id"),
        site_id=optional_id(data, "site_id"), text=text(data, "text", max_len=500),
    )
    return ok(message, status=201)


@routes.post(f"{P}/sessions/{SESSION}/cues/{CUE}/ack")
@roles(*PRODUCER)
async def post_ack(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    site_id = optional_id(data, "site_id")
    if site_id is None:
        raise ValidationError("site_id", "必填")
    message = await live.ack(request.app, path_id(request, "session_id"), path_id(request, "cue_id"), site_id, actor(request))
    return ok(message, status=200 if "duplicate" in message else 201)


@routes.post(f"{P}/sessions/{SESSION}/cues/{CUE}/execute")
@roles(*PRODUCER)
async def post_execute(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    return ok(await live.execute(request.app, path_id(request, "session_id"), path_id(request, "cue_id"), actor(request),
                                 go_back=flag(data, "go_back")))


@routes.post(f"{P}/sessions/{SESSION}/notes")
@roles(*PRODUCER)
async def post_note(request: web.Request) -> web.Response:
    data = require_mapping(await body(request))
    message = await live.note(request.app, path_id(request, "session_id"), text(data, "text", max_len=500, required=True,
                                                                                 multiline=True),
                              actor(request), optional_id(data, "site_id"))
    return ok(message, status=201)


# ---- scheduler and calendar --------------------------------------------------------------------


@routes.get(f"{P}/sessions/{SESSION}/jobs")
@roles(*PRODUCER)
async def session_jobs(request: web.Request) -> web.Response:
    session_id = path_id(request, "session_id")
    await store.get_session(request.app[DATABASE], session_id)
    runner = request.app.get(RUNNER)
    runs = await store.job_runs(request.app[DATABASE], session_id=session_id, limit=200)
    return ok({"jobs": [runner.public(j) for j in await runner.stored_jobs(session_id)] if runner else [],
               "runs": [store.job_run_json(r) for r in runs]})


@routes.get(f"{P}/runs")
@roles(*PRODUCER)
async def list_runs(request: web.Request) -> web.Response:
    outcomes = [s for s in request.query.get("outcome", "").split(",") if s]
    runs = await store.job_runs(request.app[DATABASE], outcomes=outcomes, limit=100)
    return ok({"runs": [store.job_run_json(r) for r in runs]})


@routes.get(f"{P}/conflicts")
@roles(*PRODUCER)
async def list_conflicts(request: web.Request) -> web.Response:
    found = await session_conflicts(request.app, query_time(request, "from"), query_time(request, "to"))
    return ok({"conflicts": [{"kind": c.kind, "session_ids": list(c.session_ids), "what": c.what, "message": c.message}
                             for c in found]})


async def session_conflicts(app: web.Application, start: datetime | None, end: datetime | None) -> list[calendar.Conflict]:
    db = app[DATABASE]
    rows = await store.list_sessions(db, start, end)
    sites = {s.id: s.name for s in await store.list_sites(db)}
    site_ids = {r.id: set(await store.session_site_ids(db, r.id)) for r in rows}
    chans: dict[int, list[Any]] = {}
    for ch in await store.channels(db):
        chans.setdefault(ch.session_id, []).append(ch)
    return calendar.conflicts(rows, site_ids, chans, sites)


def feed_links(app: web.Application, sites: list[Any]) -> list[dict[str, str]]:
    key = calendar.feed_key(app[CONFIG], app[SCHEDULE_SETTINGS])
    base = app[CONFIG].server.base_url
    links = [{"feed": "all", "name": "全部场次", "url": f"{base}/calendar/all.ics?token={calendar.feed_token(key, 'all')}"}]
    for site in sites:
        token = calendar.feed_token(key, f"site:{site.slug}")
        links.append({"feed": f"site:{site.slug}", "name": site.name,
                      "url": f"{base}/calendar/site/{site.slug}.ics?token={token}"})
    return links


@routes.get(f"{P}/calendar/feeds")
@roles(*PRODUCER)
async def calendar_feeds(request: web.Request) -> web.Response:
    return ok({"feeds": feed_links(request.app, await store.list_sites(request.app[DATABASE]))})
