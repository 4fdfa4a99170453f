"""Wire the console area into the app."""

from __future__ import annotations

from aiohttp import web

from livebot.console.views import routes


def setup(app: web.Application) -> None:
    app.add_routes(routes)
