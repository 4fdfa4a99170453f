"""Pre-show reminders: to the WeCom group robots (群机器人) and to the consoles over the bus."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.compliance.service import GUARD
from livebot.platforms import wecom_robot
from livebot.schedule import store
from livebot.schedule.keys import SCHEDULE_SETTINGS
from livebot.schedule.live import publish
from livebot.topics import SCHEDULE_REMINDER, ReminderNews, ScheduleReminder

logger = logging.getLogger(__name__)


def lead_text(minutes: int) -> str:
    """60 -> "1 小时", 1440 -> "24 小时", 10 -> "10 分钟"."""
    if minutes % 60 == 0:
        return f"{minutes // 60} 小时"
    return f"{minutes} 分钟"


def reminder_text(title: str, starts_at: datetime, zone: str, minutes: int, site_names: list[str], link: str) -> str:
    local = starts_at.astimezone(ZoneInfo(zone))
    sites = "、".join(site_names) or "未指定"
    return (f"【直播提醒】《{title}》将于 {local:%m月%d日 %H:%M} 开播（还有 {lead_text(minutes)}）。\n"
            f"连线站点：{sites}\n导播台：{link}")


async def post_robot(http: aiohttp.ClientSession, url: str, content: str, timeout: float) -> bool:
    """POST one reminder; True when the robot took it."""
    answer = await wecom_robot.post(http, url, wecom_robot.text_message(content), timeout)
    if not answer.ok:
        logger.warning("reminder robot refused or failed: %s", answer.reason)
    return answer.ok


async def send_reminder(app: web.Application, http: aiohttp.ClientSession, session_id: int, minutes: int) -> str:
    """Tell the groups and the consoles that a session starts soon; returns a summary for the run log."""
    db, settings = app[DATABASE], app[SCHEDULE_SETTINGS]
    session = await store.get_session(db, session_id)
    ctl = await store.control(db, session_id)
    sites = [s.name for s in await store.session_sites(db, session_id)]
    link = f"{app[CONFIG].server.base_url}/producer/sessions/{session_id}/live"
    content = reminder_text(session.title, session.planned_start, session.timezone, minutes, sites, link)
    guard = app.get(GUARD)
    if guard is not None:
        verdict = await guard.screen("reminder", content, session_id=session_id, ref=f"reminder:T-{minutes}")
        if verdict.verdict != "ok":
            logger.warning("session=%s reminder T-%s held by compliance: %s", session_id, minutes, verdict.findings[0].rule)
            return f"T-{minutes}min: 合规{'拦截' if verdict.blocked else '待审核'}（{verdict.findings[0].rule}），未发送"
    urls = list(dict.fromkeys([*settings.reminder_robot_urls, *([ctl.robot_url] if ctl.robot_url else [])]))
    results = await asyncio.gather(*(post_robot(http, url, content, settings.robot_timeout_seconds) for url in urls))
    lead = lead_text(minutes).replace(" 小时", "h").replace(" 分钟", "min")
    message = ScheduleReminder(session_id=session_id, title=session.title, lead=lead,
                               starts_at=session.planned_start.isoformat(), text=content)
    await app[BUS].publish(SCHEDULE_REMINDER, message)
    await publish(app, ReminderNews(**message, type="reminder"))
    logger.info("session=%s reminder T-%s sent to %d/%d robots", session_id, lead, sum(results), len(urls))
    return f"T-{lead}: {sum(results)}/{len(urls)} 个群机器人"
