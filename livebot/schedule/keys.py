"""App keys of the schedule area."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from livebot.schedule.clock import Clock

if TYPE_CHECKING:
    from livebot.schedule.runner import Runner
    from livebot.schedule.settings import ScheduleSettings

SCHEDULE_SETTINGS: web.AppKey[ScheduleSettings] = web.AppKey("schedule.settings")
CLOCK: web.AppKey[Clock] = web.AppKey("schedule.clock")
RUNNER: web.AppKey[Runner] = web.AppKey("schedule.runner")
