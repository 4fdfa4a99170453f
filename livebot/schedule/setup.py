"""Wire the schedule area into the app."""

from __future__ import annotations

from aiohttp import web

from livebot.schedule.views import routes


def setup(app: web.Application) -> None:
    app.add_routes(routes)
