"""After a session ends: rebuild its figures exactly, store the report, tell the WeCom groups.

``session.ended`` reaches every instance; each may rebuild and store (the result is the same),
but the robot message is claimed with a conditional update so the groups get it once.
Reports missing after a restart (the app stopped between the end and the report) are made at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import update

from livebot.background import TaskSet
from livebot.bus.base import Message
from livebot.compliance.service import Guard
from livebot.engagement import store
from livebot.engagement.metrics import EngagementMetrics
from livebot.engagement.models import EngagementReport
from livebot.engagement.rebuild import rebuild
from livebot.engagement.report import build_report
from livebot.engagement.robot import send_all, summary_markdown
from livebot.engagement.settings import EngagementSettings
from livebot.schedule.api_internal import UnknownSession
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import read_session_id

logger = logging.getLogger(__name__)

CATCH_UP_WINDOW = timedelta(days=1)


class Reporter:
    """Generates and stores reports; owns the background tasks the bus handler starts."""

    def __init__(self, db: Database, settings: EngagementSettings, metrics: EngagementMetrics,
                 base_url: Callable[[], str], lock: Callable[[int], asyncio.Lock] | None = None) -> None:
        self.db, self.settings, self.metrics, self.base_url = db, settings, metrics, base_url
        self.lock = lock or (lambda _session_id: asyncio.Lock())
        self.http: aiohttp.ClientSession | None = None
        self.tasks = TaskSet("engagement")
        self.guard: Guard | None = None
        """The compliance guard: a summary with a blocked or warned claim is held, not posted."""

    def report_url(self, session_id: int) -> str:
        return f"{self.base_url()}/reports/sessions/{session_id}"

    async def on_session_ended(self, message: Message) -> None:
        session_id = read_session_id(message)
        if session_id is None:
            return
        self.tasks.spawn(self.after_end(session_id), f"report:{session_id}")

    async def after_end(self, session_id: int) -> None:
        try:
            await self.generate(session_id, "session_end", send=True)
        except UnknownSession:
            logger.warning("engagement session=%s ended but is gone", session_id)
        except Exception:
            logger.exception("engagement session=%s post-session report failed", session_id)
            self.metrics.reports.labels("session_end", "failed").inc()

    async def drained(self) -> None:
        """Wait for the reports being generated now (tests, shutdown)."""
        await self.tasks.drained()

    async def generate(self, session_id: int, trigger: str, send: bool = False) -> dict[str, Any]:
        """Rebuild, build and store the report of a session; send the summary when asked and configured."""
        async with self.lock(session_id):
            await rebuild(self.db, session_id)
        data = await build_report(self.db, session_id, self.settings)
        await store.save_report(self.db, session_id, data, trigger)
        self.metrics.reports.labels(trigger, "ok").inc()
        logger.info("engagement session=%s report stored trigger=%s", session_id, trigger)
        if send and self.settings.report_robot_urls:
            await self.send(session_id, data, only_once=True)
        return data

    async def send(self, session_id: int, data: dict[str, Any], only_once: bool) -> list[str]:
        """Post the summary to every configured robot; with ``only_once`` only if nobody sent it yet."""
        if not self.settings.report_robot_urls:
            return ["没有配置 engagement.report_robot_urls"]
        if only_once and not await self.claim(session_id):
            return []
        if self.http is None:
            self.http = aiohttp.ClientSession()
        content = summary_markdown(data, self.report_url(session_id))
        if self.guard is not None:
            result = await self.guard.screen("summary", content, session_id=session_id, ref=f"report:{session_id}")
            if result.verdict != "ok":
                reason = f"合规{'拦截' if result.blocked else '待审核'}：{result.findings[0].rule}"
                await store.mark_robot(self.db, session_id, "failed", reason)
                return [reason]
        failures = await send_all(self.http, self.settings.report_robot_urls, content, self.settings.robot_timeout_seconds)
        await store.mark_robot(self.db, session_id, "failed" if failures else "sent", "; ".join(failures))
        self.metrics.robot.labels("failed" if failures else "sent").inc()
        return failures

    async def claim(self, session_id: int) -> bool:
        """Take the right to send this session's summary (one instance, one time)."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(update(EngagementReport)
                                        .where(EngagementReport.session_id == session_id, EngagementReport.robot_status == "")
                                        .values(robot_status="sending"))
        return bool(result.rowcount)

    async def catch_up(self) -> None:
        """Reports for sessions that ended while no instance was running."""
        for session_id in await store.ended_without_report(self.db, utcnow() - CATCH_UP_WINDOW):
            await self.after_end(session_id)

    async def close(self) -> None:
        await self.tasks.stop()
        if self.http is not None:
            await self.http.close()
