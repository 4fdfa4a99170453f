"""Demo schedule: the live session's run of show (short segments, automatic mode) and a season around it.

The core seed made three sites and one live session; here that session gets eight two-minute
segments switched by the real scheduler, and the season gets upcoming sessions (工艺, 质检,
a draft 奶源 second part), two ended ones with their recorded timeline, and a cancelled one.
A light loop starts the live rundown over when it has played through, so the demo keeps moving.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import func, select

from livebot.appkeys import CONFIG, DATABASE
from livebot.schedule import live, store
from livebot.schedule.api import feed_links
from livebot.schedule.keys import CLOCK, RUNNER
from livebot.schedule.models import Channel, LiveSession, SessionControl, SessionSite, Site
from livebot.schedule.validate import SegmentInput
from livebot.trace import api_internal as trace

logger = logging.getLogger(__name__)

BY = "demo"
SEGMENT_SECONDS = 120
LOOP_CHECK_SECONDS = 15
BEIJING = ZoneInfo("Asia/Shanghai")

# title, on-air site, picture-in-picture site, scene, FAQ tags, talking points, shows the session's batch
LIVE_RUNDOWN = (
    ("开场：从牧场到罐的 2 小时", "beijing-studio", None, "lower_third", ["开场"], "主持人介绍三地连线与今天的批次", False),
    ("双城牧场直击：挤奶与 4 °C 冷却", "shuangcheng-farm", "beijing-studio", "timeline", ["奶源", "冷链"],
     "挤奶后 2 小时内冷却到 4 °C 以下；牧场自有牧群", True),
    ("进厂检验：生乳指标", "qiqihar-factory", None, "inspections", ["检测", "奶源"],
     "蛋白质 ≥ 2.8 g/100 g、脂肪 ≥ 3.1 g/100 g（GB 19301）", True),
    ("湿法工艺生产线", "qiqihar-factory", "beijing-studio", "telemetry", ["工艺"], "巴氏杀菌温度与罐装速度实时数据", False),
    ("批次溯源卡：扫码查报告", "beijing-studio", "qiqihar-factory", "trace_card", ["溯源", "扫码"],
     "演示罐底二维码，讲解合格证与检验报告", True),
    ("质检清单：三聚氰胺等项目", "qiqihar-factory", None, "inspections", ["质检", "安全"], "三聚氰胺限量 1 mg/kg，本批未检出", True),
    ("观众问答", "beijing-studio", None, "featured_qa", ["问答"], "营养顾问回答精选问题", False),
    ("结尾与下期预告", "beijing-studio", None, "countdown", ["预告"], "预告下周工艺专场", False),
)

SEASON = (
    # title, theme, days from today, hour, status, sites, segment titles
    ("北境臻护 · 工艺专场：湿法工艺全流程", "工艺", 3, 20, "scheduled", ("beijing-studio", "qiqihar-factory"),
     ("开场", "配料与均质", "喷雾干燥", "罐装与充氮", "问答")),
    ("北境臻护 · 质检专场：一罐奶粉要过 60 项检测", "质检", 10, 20, "scheduled", ("beijing-studio", "qiqihar-factory"),
     ("开场", "实验室探访", "三聚氰胺检测", "微生物检测", "问答")),
    ("北境臻护 · 奶源专场（第二期）", "奶源", 17, 19, "draft", ("beijing-studio", "shuangcheng-farm"),
     ("开场", "牧草与饲喂", "挤奶与冷链")),
    ("北境臻护 · 奶源专场（第一期）", "奶源", -14, 20, "ended", ("beijing-studio", "shuangcheng-farm", "qiqihar-factory"),
     ("开场", "牧场直击", "进厂检验", "问答")),
    ("北境臻护 · 牧场开放日", "奶源", -10, 10, "cancelled", ("shuangcheng-farm",), ("牧场参观",)),
    ("北境臻护 · 工艺专场（预热）", "工艺", -7, 20, "ended", ("beijing-studio", "qiqihar-factory"),
     ("开场", "生产线直播", "问答")),
)
SCENES_BY_INDEX = ("lower_third", "timeline", "inspections", "trace_card", "featured_qa")


def evening(now: datetime, days: int, hour: int) -> datetime:
    """``days`` from today at ``hour`` o'clock Beijing time."""
    local = now.astimezone(BEIJING) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


async def seed(app: web.Application) -> list[str]:
    db = app[DATABASE]
    sites = {s.slug: s for s in await store.list_sites(db)}
    async with db.sessions() as s:
        current = await s.scalar(select(LiveSession).where(LiveSession.status == "live").order_by(LiveSession.id))
    lines = ["  导播台 / producer:"]
    base = app[CONFIG].server.base_url
    if current is not None and sites:
        if not await store.segments(db, current.id):
            await seed_live(app, current, sites)
        app[RUNNER].spawn(loop_rundown(app, current.id), name=f"demo:rundown:{current.id}")
        lines.append(f"    直播控制（北京）: {base}/producer/sessions/{current.id}/live?site=beijing-studio")
        lines.append(f"    直播控制（齐齐哈尔）: {base}/producer/sessions/{current.id}/live?site=qiqihar-factory")
    count = await seed_season(app, sites)
    lines.append(f"    场次与排期: {base}/producer  （本季共 {count + (current is not None)} 场）")
    lines.append(f"    日历订阅 / ics: {feed_links(app, [])[0]['url']}")
    return lines


async def seed_live(app: web.Application, session: LiveSession, sites: dict[str, Site]) -> None:
    """Give the live session its run of show and start it at the first segment, in automatic mode."""
    db, now = app[DATABASE], app[CLOCK]()
    lots = await trace.session_lots(db, session.id)
    segments = []
    for title, site, pip, scene, tags, points, shows_lot in LIVE_RUNDOWN:
        segments.append(await store.create_segment(db, session.id, SegmentInput(
            title=title, offset_s=None, duration_s=SEGMENT_SECONDS, site_id=sites[site].id,
            pip_site_id=sites[pip].id if pip else None, scene=scene, lot=lots[0] if lots and shows_lot else "",
            talking_points=points, faq_tags=list(tags))))
    async with db.sessions() as s:
        control = await s.get(SessionControl, session.id) or SessionControl(session_id=session.id, lots=[])
        control.mode, control.robot_url = "auto", ""
        s.add(control)
        await s.commit()
    started = session.started_at or now
    await store.add_timeline(db, session.id, "status", started, "producer", payload={"from": "scheduled", "to": "live"})
    await live.advance(app, session.id, BY, segments[0].id)


async def seed_season(app: web.Application, sites: dict[str, Site]) -> int:
    """Upcoming, draft, ended and cancelled sessions around the live one (once: a restart keeps the season)."""
    db, now = app[DATABASE], app[CLOCK]()
    async with db.sessions() as s:
        seeded = await s.scalar(select(func.count()).select_from(LiveSession)
                                .where(LiveSession.title.in_([row[0] for row in SEASON])))
        if seeded:
            return int(seeded)
        channels = list((await s.scalars(select(Channel).order_by(Channel.id))).all())
    made = 0
    for title, theme, days, hour, status, slugs, segment_titles in SEASON:
        start = evening(now, days, hour)
        end = start + timedelta(minutes=max(60, 20 * len(segment_titles)))
        session_id = await add_session(app, title, theme, start, end, [sites[x] for x in slugs if x in sites])
        if status in ("scheduled", "draft"):
            await bind_channels(app, session_id, channels)
        for index, segment_title in enumerate(segment_titles):
            site = sites.get(slugs[index % len(slugs)])
            await store.create_segment(db, session_id, SegmentInput(
                title=segment_title, offset_s=None, duration_s=15 * 60 if index else 5 * 60, site_id=site.id if site else None,
                pip_site_id=None, scene=SCENES_BY_INDEX[index % len(SCENES_BY_INDEX)], lot="", talking_points="",
                faq_tags=[theme]))
        await settle(app, session_id, status, start, end)
        if status == "ended":
            await record_past_show(app, session_id, start, end)
        else:
            await store.add_timeline(db, session_id, "status", now, "producer", payload={"from": None, "to": status})
        await live.changed(app, session_id, "demo")
        made += 1
    return made


async def add_session(app: web.Application, title: str, theme: str, start: datetime, end: datetime,
                      sites: list[Site]) -> int:
    """A draft with its sites (segments are added while it is still editable)."""
    async with app[DATABASE].sessions() as s:
        row = LiveSession(title=title, theme=theme, planned_start=start, planned_end=end, status="draft",
                          status_changed_by="producer", status_changed_at=app[CLOCK](),
                          description=f"{theme}主题直播，多地连线。")
        s.add(row)
        await s.flush()
        s.add_all(SessionSite(session_id=row.id, site_id=site.id) for site in sites)
        s.add(SessionControl(session_id=row.id, mode="auto", robot_url="", lots=[]))
        await s.commit()
        return row.id


async def settle(app: web.Application, session_id: int, status: str, start: datetime, end: datetime) -> None:
    """Give a season session its final status (past ones as if they had run)."""
    async with app[DATABASE].sessions() as s:
        row = await s.get(LiveSession, session_id)
        assert row is not None
        row.status = status
        if status == "ended":
            row.started_at, row.ended_at, row.status_changed_at, row.status_changed_by = start, end, end, "scheduler"
        await s.commit()


async def bind_channels(app: web.Application, session_id: int, channels: list[Channel]) -> None:
    async with app[DATABASE].sessions() as s:
        s.add_all(Channel(session_id=session_id, source_id=c.source_id, channel=c.channel, platform=c.platform,
                          label=c.label) for c in channels)
        await s.commit()


async def record_past_show(app: web.Application, session_id: int, start: datetime, end: datetime) -> None:
    """The timeline an ended show would have left: went live, each segment on air, ended."""
    db = app[DATABASE]
    await store.add_timeline(db, session_id, "status", start, "producer", payload={"from": "scheduled", "to": "live"})
    for seg in await store.segments(db, session_id):
        at = start + timedelta(seconds=seg.offset_s)
        await store.add_timeline(db, session_id, "segment", at, "scheduler", segment_id=seg.id, site_id=seg.site_id,
                                 payload={"title": seg.title, "scene": seg.scene, "lot": seg.lot, "pip_site_id": None})
    await store.add_timeline(db, session_id, "status", end, "scheduler", payload={"from": "live", "to": "ended"})


async def loop_rundown(app: web.Application, session_id: int) -> None:
    """When the live rundown has played through, start it again (demo only)."""
    while True:
        await asyncio.sleep(LOOP_CHECK_SECONDS)
        try:
            await restart_if_done(app, session_id)
        except Exception:  # the demo loop must never take the app down
            logger.exception("demo rundown loop session=%s failed", session_id)


async def restart_if_done(app: web.Application, session_id: int) -> bool:
    db = app[DATABASE]
    session = await store.get_session(db, session_id)
    if session.status != "live":
        return False
    segments = await store.segments(db, session_id)
    control = await store.control(db, session_id)
    if not segments or control.current_segment_id != segments[-1].id or control.segment_started_at is None:
        return False
    if (app[CLOCK]() - control.segment_started_at).total_seconds() < segments[-1].duration_s:
        return False
    await live.advance(app, session_id, BY, segments[0].id, go_back=True)  # the demo loops its rundown
    return True
