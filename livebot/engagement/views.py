"""The 数据报表 page (/reports)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from livebot.auth.access import roles

routes = web.RouteTableDef()


@routes.get("/reports")
@roles("marketing")
async def landing(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("engagement/reports.html", request, {})
