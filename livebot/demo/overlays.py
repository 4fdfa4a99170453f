"""Demo overlays: an OBS token for the live session, its URLs printed, and a light scene driver.

The driver stands in for a producer between cues: it rotates the program scene and features a
viewer question now and then, but steps aside for two minutes whenever anyone else (the
scheduler, a producer, an advisor) sends an overlay command.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.overlays import store
from livebot.overlays.keys import OVERLAY_SERVICE
from livebot.overlays.links import overlay_urls
from livebot.schedule import api_internal as schedule
from livebot.schedule.models import LiveSession
from livebot.storage.base import utcnow
from livebot.topics import OVERLAY_CONTROL, OVERLAY_SCENES, OverlayControl, overlay_control

logger = logging.getLogger(__name__)

BY = "demo"
SCENE_SECONDS = 25.0
QUIET_SECONDS = 120.0
"""After someone else's command the demo driver keeps its hands off this long."""
SCENE_CYCLE = ("batch", "chain", "inspections", "telemetry", "featured", "stats", "countdown")
QUESTIONS = (
    ("奶源来自哪里？", "本批奶源来自双城牧场自有牧群，挤奶后 2 小时内进厂加工。", "小雨妈妈", "douyin"),
    ("罐底的批号怎么查？", "扫描罐底二维码或在直播间发罐码，就能看到这一批的全部检验报告。", "乐乐爸爸", "kuaishou"),
    ("三聚氰胺检测了吗？", "每批都检，本批结果为未检出，国家标准是不超过 1 mg/kg。", "糖糖妈", "channels"),
    ("冷链运输温度是多少？", "牧场冷却到 4 °C 以下，运输全程冷藏，到厂温度有记录可查。", "豆豆妈妈", "bilibili"),
)


async def seed(app: web.Application) -> list[str]:
    """Create the live session's overlay token, set a first screen, start the scene driver."""
    db = app[DATABASE]
    async with db.sessions() as session:
        live = await session.scalar(select(LiveSession).where(LiveSession.status == "live").order_by(LiveSession.id))
    if live is None:
        return ["  叠加层 / overlays: 没有直播中的场次"]
    token = await store.rotate_token(db, live.id, BY)
    sites = await schedule.session_sites(db, live.id)
    bus = app[BUS]
    first = [overlay_control(live.id, "scene", BY, scene="batch"), countdown(live.id)]
    if sites:
        first.append(overlay_control(live.id, "site", BY, site_id=sites[0].id))
    for command in first:
        await bus.publish(OVERLAY_CONTROL, command)
    app[OVERLAY_SERVICE].spawn(drive(app, live.id), name=f"demo:overlays:{live.id}")
    urls = overlay_urls(app[CONFIG].server.base_url, live.id, token)
    lines = ["  OBS 叠加层 / overlays（浏览器源 1920×1080，背景透明）:", f"    节目画面 program: {urls['program']}"]
    lines += [f"    {title}: {urls[name]}" for name, title in OVERLAY_SCENES.items()]
    lines.append(f"    导播预览与切换 / producer: {app[CONFIG].server.base_url}/overlays/{live.id}")
    return lines


def countdown(session_id: int) -> OverlayControl:
    """The demo's countdown to the factory visit, eight minutes from now."""
    return overlay_control(session_id, "countdown", BY, title="工厂车间直连",
                           ends_at=(utcnow() + timedelta(minutes=8)).isoformat())


async def drive(app: web.Application, session_id: int) -> None:
    """Rotate scenes and featured questions every ~25 s unless someone else is driving."""
    service = app[OVERLAY_SERVICE]
    scenes = itertools.cycle(SCENE_CYCLE[1:] + SCENE_CYCLE[:1])
    questions = itertools.cycle(QUESTIONS)
    sites = itertools.cycle([site.id for site in await schedule.session_sites(app[DATABASE], session_id)] or [None])
    for round_number in itertools.count(1):
        await asyncio.sleep(SCENE_SECONDS)
        overlay = service.sessions.get(session_id)
        if overlay is None or (overlay.last_by != BY and time.monotonic() - overlay.last_command_at < QUIET_SECONDS):
            continue
        commands = [overlay_control(session_id, "scene", BY, scene=next(scenes))]
        if round_number % 3 == 1:
            question, answer, asker, platform = next(questions)
            commands.append(overlay_control(session_id, "featured", BY, question=question, answer=answer, asker=asker,
                                            platform=platform))
        if round_number % 4 == 0:
            site_id = next(sites)
            if site_id is not None:
                commands.append(overlay_control(session_id, "site", BY, site_id=site_id))
        shown = overlay.control.get("countdown")
        if not shown or shown.get("ends_at", "") < utcnow().isoformat():
            commands.append(countdown(session_id))
        for command in commands:
            await app[BUS].publish(OVERLAY_CONTROL, command)
        logger.debug("demo overlays session=%s round=%d", session_id, round_number)
