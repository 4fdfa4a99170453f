"""Wire the schedule area into the app: settings, clock, routes, API description, the scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from livebot.appkeys import API_DOC, CONFIG
from livebot.schedule import api, apidoc, views, ws
from livebot.schedule.clock import system_clock
from livebot.schedule.keys import CLOCK, RUNNER, SCHEDULE_SETTINGS
from livebot.schedule.settings import ScheduleSettings


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every instance runs a standby scheduler; the one holding the leader lock runs the jobs."""
    from livebot.schedule.runner import Runner

    runner = Runner(app)
    app[RUNNER] = runner
    await runner.start()
    app.on_shutdown.append(runner.step_down)
    yield
    await runner.stop()


def setup(app: web.Application) -> None:
    settings = app[CONFIG].section("schedule", ScheduleSettings)
    app[SCHEDULE_SETTINGS] = settings
    if CLOCK not in app:
        app[CLOCK] = system_clock
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app.add_routes(ws.routes)
    app[API_DOC].add(apidoc.PATHS, apidoc.SCHEMAS)
    if settings.scheduler_enabled:
        app.cleanup_ctx.append(scheduler_ctx)
