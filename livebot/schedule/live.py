"""Running a show: status transitions, segment and site switches, cues, acknowledgements, notes.

Every action records what actually happened in ``session_timeline`` and then tells the others:
``schedule.{id}`` for the producer consoles of every site (all instances), ``overlay.control``
for the on-screen scenes, ``schedule.changed`` so routers reload and the scheduler re-plans, and
``session.ended`` for the post-session report.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import update

from livebot.appkeys import BUS, DATABASE
from livebot.errors import ConflictError, ValidationError
from livebot.schedule import store
from livebot.schedule.errors import BehindError, CueError, TransitionError, UnknownSegment, UnknownSite
from livebot.schedule.keys import CLOCK
from livebot.schedule.models import RUN_MODES, LiveSession, SessionControl, SessionSite, Site
from livebot.storage.base import rowcount
from livebot.topics import (
    OVERLAY_CONTROL,
    SCHEDULE_CHANGED,
    SESSION_ENDED,
    AckNews,
    CueNews,
    ModeNews,
    NoteNews,
    ScheduleChanged,
    ScheduleNews,
    SegmentNews,
    SessionEnded,
    SiteNews,
    StatusNews,
    overlay_control,
    schedule_topic,
)

logger = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"scheduled", "cancelled"}),
    "scheduled": frozenset({"draft", "live", "cancelled"}),
    "live": frozenset({"ended"}),
    "ended": frozenset(),
    "cancelled": frozenset(),
}
STATUS_NAMES = {"draft": "草稿", "scheduled": "已排期", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}
CUES = ("next_segment", "switch_site", "standby", "custom")
CUE_NAMES = {"next_segment": "下一段", "switch_site": "切换站点", "standby": "全体准备", "custom": "提示"}
MAX_NOTE = 500


def now_of(app: web.Application) -> datetime:
    return app[CLOCK]()


async def publish(app: web.Application, news: ScheduleNews) -> None:
    """News for every producer console of the session, on every instance."""
    await app[BUS].publish(schedule_topic(news["session_id"]), news)


async def changed(app: web.Application, session_id: int, reason: str) -> None:
    await app[BUS].publish(SCHEDULE_CHANGED, ScheduleChanged(session_id=session_id, reason=reason))


async def overlay(app: web.Application, session_id: int, by: str, kind: str, **fields: Any) -> None:
    await app[BUS].publish(OVERLAY_CONTROL, overlay_control(session_id, kind, by, **fields))


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise ValidationError("status", f"未知状态 {target!r}")
    if target not in TRANSITIONS[current]:
        raise TransitionError("status", f"不能从“{STATUS_NAMES[current]}”改为“{STATUS_NAMES[target]}”")


async def transition(app: web.Application, session_id: int, target: str, by: str) -> LiveSession:
    """Move a session along draft → scheduled → live → ended (or cancelled), exactly once."""
    db, now = app[DATABASE], now_of(app)
    row = await store.get_session(db, session_id)
    check_transition(row.status, target)
    if target == "scheduled" and row.planned_start <= now:
        raise ValidationError("planned_start", "开始时间已过，请先改到将来的时间再排期")
    values: dict[str, Any] = {"status": target, "status_changed_by": by, "status_changed_at": now}
    if target == "live":
        values["started_at"] = now
    if target == "ended":
        values["ended_at"] = now
    async with db.sessions() as s:
        result = await s.execute(update(LiveSession).where(LiveSession.id == session_id, LiveSession.status == row.status)
                                 .values(**values))
        if not rowcount(result):
            raise ConflictError("场次状态刚被其他人修改，请刷新后重试")
        if target == "ended":
            await s.execute(update(SessionControl).where(SessionControl.session_id == session_id)
                            .values(current_segment_id=None))
        await s.commit()
    await store.add_timeline(db, session_id, "status", now, by, payload={"from": row.status, "to": target})
    logger.info("session=%s status %s -> %s by=%s", session_id, row.status, target, by)
    await publish(app, StatusNews(session_id=session_id, type="status", status=target, at=now.isoformat(), by=by))
    if target == "live":
        await start_show(app, session_id, by)
    await changed(app, session_id, f"status:{target}")
    if target == "ended":
        await app[BUS].publish(SESSION_ENDED, SessionEnded(session_id=session_id))
    return await store.get_session(db, session_id)


async def start_show(app: web.Application, session_id: int, by: str) -> None:
    """At go-live: the first segment goes on air when it starts at 0, else the first site takes the air."""
    segs = await store.segments(app[DATABASE], session_id)
    if segs and segs[0].offset_s == 0:
        await advance(app, session_id, by, segs[0].id, replan=False)
        return
    sites = await store.session_site_ids(app[DATABASE], session_id)
    if sites:
        await switch_site(app, session_id, sites[0], by)


async def ensure_control(s: Any, session_id: int) -> SessionControl:
    row = await s.get(SessionControl, session_id)
    if row is None:
        row = SessionControl(session_id=session_id, mode="auto", robot_url="", lots=[])
        s.add(row)
    return row


async def advance(app: web.Application, session_id: int, by: str, segment_id: int | None = None, *,
                  expected_current: int | None = -1, replan: bool = True, go_back: bool = False) -> dict[str, Any] | None:
    """Put a segment on air (the next one by default); switch site, scene and batch with it.

    ``expected_current`` lets the scheduler say "only if segment X is still on air" so a manual
    switch in between is not undone. A segment that is not ahead of the one on air is refused
    (409) unless ``go_back`` says a person confirmed "回到该段". Returns the segment, or None when
    nothing changed.
    """
    db, now = app[DATABASE], now_of(app)
    session = await store.get_session(db, session_id)
    if session.status != "live":
        raise ConflictError("场次不在直播中，不能切换段落")
    segs = await store.segments(db, session_id)
    async with db.sessions() as s:
        ctl = await ensure_control(s, session_id)
        if expected_current != -1 and ctl.current_segment_id != expected_current:
            return None
        if segment_id is None:
            ids = [g.id for g in segs]
            index = ids.index(ctl.current_segment_id) + 1 if ctl.current_segment_id in ids else 0
            if index >= len(segs):
                raise ConflictError("已经是最后一段")
            target = segs[index]
        else:
            found = next((g for g in segs if g.id == segment_id), None)
            if found is None:
                raise UnknownSegment(f"本场次没有编号为 {segment_id} 的段落")
            if not go_back and not ahead(segs, ctl.current_segment_id, found.id):
                raise BehindError(f"“{found.title}”不在当前段落之后（已播出或正在播出），不能切换；如确需回到该段，请确认“回到该段”")
            target = found
        previous_site = ctl.on_air_site_id
        ctl.current_segment_id, ctl.segment_started_at = target.id, now
        if target.site_id is not None:
            ctl.on_air_site_id = target.site_id
        site_id = ctl.on_air_site_id
        await s.commit()
    await store.add_timeline(db, session_id, "segment", now, by, segment_id=target.id, site_id=site_id,
                             payload={"title": target.title, "scene": target.scene, "lot": target.lot,
                                      "pip_site_id": target.pip_site_id})
    logger.info("session=%s segment=%s on air by=%s", session_id, target.id, by)
    await overlay(app, session_id, by, "scene", scene=target.scene)
    if target.lot:
        await overlay(app, session_id, by, "batch", lot=target.lot)
    if site_id is not None and site_id != previous_site:
        await record_site(app, session_id, site_id, by, now, target.id)
    await publish(app, SegmentNews(session_id=session_id, type="segment", segment=target.as_json(),
                                   started_at=now.isoformat(), on_air_site_id=site_id, by=by))
    if replan:
        await changed(app, session_id, "segment")
    return target.as_json()


def ahead(segs: list[store.SegmentView], current_id: int | None, target_id: int | None) -> bool:
    """Whether ``target_id`` comes after the segment on air (anything is ahead before the first)."""
    ids = [g.id for g in segs]
    if target_id not in ids:
        return False
    return ids.index(target_id) > (ids.index(current_id) if current_id in ids else -1)


def cue_open(payload: dict[str, Any], segs: list[store.SegmentView], current_id: int | None) -> bool:
    """A cue stays open while the show has not moved past it.

    "Next segment" cues lead to their segment: open while it is still ahead. Other cues belong to
    the segment that was on air when they were sent (``at_segment_id``): open while it still is.
    """
    if payload.get("cue") == "next_segment":
        return ahead(segs, current_id, payload.get("segment_id"))
    return "at_segment_id" not in payload or payload.get("at_segment_id") == current_id


async def record_site(app: web.Application, session_id: int, site_id: int, by: str, now: datetime,
                      segment_id: int | None) -> None:
    site = await store.get_site(app[DATABASE], site_id)
    await store.add_timeline(app[DATABASE], session_id, "site", now, by, segment_id=segment_id, site_id=site_id,
                             payload={"name": site.name})
    await overlay(app, session_id, by, "site", site_id=site_id, name=site.name, lower_third=site.lower_third)
    await publish(app, SiteNews(session_id=session_id, type="site", site_id=site_id, name=site.name, at=now.isoformat(),
                                by=by))


async def taking_part(app: web.Application, session_id: int, site_id: int, field: str = "site_id") -> Site:
    async with app[DATABASE].sessions() as s:
        site = await s.get(Site, site_id)
        member = await s.get(SessionSite, (session_id, site_id))
    if site is None:
        raise UnknownSite(f"没有编号为 {site_id} 的站点")
    if member is None:
        raise ValidationError(field, f"站点“{site.name}”未参加本场次")
    return site


async def switch_site(app: web.Application, session_id: int, site_id: int, by: str) -> None:
    """Put another site on air without changing the segment."""
    db, now = app[DATABASE], now_of(app)
    await store.get_session(db, session_id)
    await taking_part(app, session_id, site_id)
    async with db.sessions() as s:
        ctl = await ensure_control(s, session_id)
        ctl.on_air_site_id = site_id
        segment_id = ctl.current_segment_id
        await s.commit()
    await record_site(app, session_id, site_id, by, now, segment_id)


async def set_mode(app: web.Application, session_id: int, mode: str, by: str) -> None:
    """Automatic (the scheduler switches segments) or manual (only people do)."""
    if mode not in RUN_MODES:
        raise ValidationError("mode", "应为 auto 或 manual")
    db, now = app[DATABASE], now_of(app)
    await store.get_session(db, session_id)
    async with db.sessions() as s:
        ctl = await ensure_control(s, session_id)
        ctl.mode = mode
        await s.commit()
    await store.add_timeline(db, session_id, "cue", now, by, payload={"cue": "mode", "mode": mode})
    await publish(app, ModeNews(session_id=session_id, type="mode", mode=mode, at=now.isoformat(), by=by))
    await changed(app, session_id, "mode")


async def cue(app: web.Application, session_id: int, kind: str, by: str, *, from_site_id: int | None = None,
              segment_id: int | None = None, site_id: int | None = None, text: str = "") -> CueNews:
    """Announce a switch to every site; each site acknowledges (see :func:`ack`)."""
    if kind not in CUES:
        raise ValidationError("cue", f"应为以下之一：{'、'.join(CUES)}")
    if len(text) > MAX_NOTE:
        raise ValidationError("text", f"最多 {MAX_NOTE} 个字符")
    db, now = app[DATABASE], now_of(app)
    session = await store.get_session(db, session_id)
    if session.status in ("ended", "cancelled"):
        raise ConflictError("场次已结束")
    sites = await store.session_sites(db, session_id)
    if from_site_id is not None:
        await taking_part(app, session_id, from_site_id, "from_site_id")
    if kind == "switch_site":
        if site_id is None:
            raise ValidationError("site_id", "切换站点需要目标站点")
        await taking_part(app, session_id, site_id)
    segs = await store.segments(db, session_id)
    current_id = (await store.control(db, session_id)).current_segment_id
    if kind == "next_segment":
        segment_id = segment_id or await default_next(app, session_id, segs)
        if segment_id is None or all(g.id != segment_id for g in segs):
            raise ValidationError("segment_id", "没有可切换的下一段")
        if not ahead(segs, current_id, segment_id):
            raise ValidationError("segment_id", "该段已播出或正在播出，不能再提示切到它")
    target = next((g for g in segs if g.id == segment_id), None)
    label = cue_label(kind, target.title if target else "", next((x.name for x in sites if x.id == site_id), ""), text)
    payload = {"cue": kind, "segment_id": segment_id, "target_site_id": site_id, "from_site_id": from_site_id,
               "text": text, "label": label, "expects": [x.id for x in sites], "at_segment_id": current_id}
    item = await store.add_timeline(db, session_id, "cue", now, by, segment_id=segment_id, site_id=site_id, payload=payload)
    message = CueNews(session_id=session_id, type="cue", cue_id=item.id, cue=kind, segment_id=segment_id,
                      target_site_id=site_id, from_site_id=from_site_id, text=text, label=label,
                      expects=[x.id for x in sites], at_segment_id=current_id, at=now.isoformat(), by=by)
    await publish(app, message)
    return message


async def default_next(app: web.Application, session_id: int, segs: list[store.SegmentView]) -> int | None:
    ctl = await store.control(app[DATABASE], session_id)
    ids = [g.id for g in segs]
    index = ids.index(ctl.current_segment_id) + 1 if ctl.current_segment_id in ids else 0
    return ids[index] if index < len(ids) else None


async def execute(app: web.Application, session_id: int, cue_id: int, by: str, *, go_back: bool = False) -> dict[str, Any]:
    """Carry out a switch cue: its segment or site goes on air, if the show has not moved past it.

    A cue the show has passed is refused (409) unless ``go_back`` (a confirmed "回到该段").
    """
    db = app[DATABASE]
    item = next((i for i in await store.timeline(db, session_id, kinds=("cue",)) if i.id == cue_id), None)
    if item is None or item.payload.get("cue") not in ("next_segment", "switch_site"):
        raise CueError(f"本场次没有编号为 {cue_id} 的切换提示")
    segs = await store.segments(db, session_id)
    if not go_back and not cue_open(item.payload, segs, (await store.control(db, session_id)).current_segment_id):
        raise BehindError(f"提示“{item.payload.get('label', '')}”已过期：节目已经往下播了；如确需回到该处，请确认“回到该段”")
    if item.payload["cue"] == "next_segment":
        segment = await advance(app, session_id, by, int(item.payload["segment_id"]), go_back=go_back)
        return {"cue_id": cue_id, "segment": segment}
    site_id = int(item.payload["target_site_id"])
    await switch_site(app, session_id, site_id, by)
    return {"cue_id": cue_id, "on_air_site_id": site_id}


def cue_label(kind: str, segment_title: str, site_name: str, text: str) -> str:
    if kind == "next_segment":
        return f"准备切到下一段：{segment_title}"
    if kind == "switch_site":
        return f"准备切换到：{site_name}"
    if kind == "standby":
        return text or "全体准备"
    return text or "提示"


async def ack(app: web.Application, session_id: int, cue_id: int, site_id: int, by: str) -> AckNews:
    """One site says it is ready for a cue ("齐齐哈尔工厂已就位"); repeating it changes nothing."""
    db, now = app[DATABASE], now_of(app)
    site = await taking_part(app, session_id, site_id)
    items = await store.timeline(db, session_id, kinds=("cue", "ack"))
    cue_item = next((i for i in items if i.id == cue_id and i.kind == "cue"), None)
    if cue_item is None or cue_item.payload.get("cue") == "mode":
        raise CueError(f"本场次没有编号为 {cue_id} 的提示")
    existing = next((i for i in items if i.kind == "ack" and i.payload.get("cue_id") == cue_id and i.site_id == site_id),
                    None)
    message = AckNews(session_id=session_id, type="ack", cue_id=cue_id, site_id=site_id, site_name=site.name,
                      text=f"{short_name(site.name)}已就位", at=now.isoformat(), by=by)
    if existing is not None:
        return {**message, "at": existing.at.isoformat(), "duplicate": True}
    await store.add_timeline(db, session_id, "ack", now, by, site_id=site_id, segment_id=cue_item.segment_id,
                             payload={"cue_id": cue_id})
    await publish(app, message)
    return message


def short_name(name: str) -> str:
    """"齐齐哈尔工厂" -> "齐齐哈尔": the place people say when they report in."""
    for suffix in ("演播厅", "工厂", "牧场", "实验室", "检测中心"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


async def note(app: web.Application, session_id: int, text: str, by: str, site_id: int | None = None) -> NoteNews:
    """A message between sites (the producers' back channel), kept in the timeline."""
    cleaned = text.strip()
    if not cleaned:
        raise ValidationError("text", "必填")
    if len(cleaned) > MAX_NOTE:
        raise ValidationError("text", f"最多 {MAX_NOTE} 个字符")
    db, now = app[DATABASE], now_of(app)
    await store.get_session(db, session_id)
    site_name = ""
    if site_id is not None:
        site_name = (await taking_part(app, session_id, site_id)).name
    item = await store.add_timeline(db, session_id, "note", now, by, site_id=site_id,
                                    payload={"text": cleaned, "site_name": site_name})
    message = NoteNews(session_id=session_id, type="note", id=item.id, text=cleaned, site_id=site_id,
                       site_name=site_name, at=now.isoformat(), by=by)
    await publish(app, message)
    return message


async def state(app: web.Application, session_id: int) -> dict[str, Any]:
    """Everything a producer console needs on (re)connect: session, run of show, on air, cues, notes."""
    db = app[DATABASE]
    detail = await store.session_detail(db, session_id)
    sites = await store.session_sites(db, session_id)
    items = await store.timeline(db, session_id, kinds=("cue", "ack", "note"))
    segs = await store.segments(db, session_id)
    current_id = detail.get("current_segment_id")
    ended = detail.get("status") in ("ended", "cancelled")
    names = {x.id: x.name for x in sites}
    acks: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        if item.kind == "ack":
            name = names.get(item.site_id or 0, "")
            acks.setdefault(int(item.payload.get("cue_id", 0)), []).append(
                {"site_id": item.site_id, "site_name": name, "text": f"{short_name(name)}已就位",
                 "at": item.at.isoformat(), "by": item.by})
    cues = [{"cue_id": i.id, **i.payload, "at": i.at.isoformat(), "by": i.by, "acks": acks.get(i.id, [])}
            for i in items if i.kind == "cue" and i.payload.get("cue") != "mode" and not ended
            and cue_open(i.payload, segs, current_id)][-10:]
    notes = [{"id": i.id, **i.payload, "site_id": i.site_id, "at": i.at.isoformat(), "by": i.by}
             for i in items if i.kind == "note"][-50:]
    return {"session": detail, "sites": [store.site_json(x) for x in sites], "cues": cues, "notes": notes,
            "server_time": now_of(app).isoformat()}

