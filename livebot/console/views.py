"""The 问答工作台 page (/console)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from livebot.auth.access import roles

routes = web.RouteTableDef()


@routes.get("/console")
@roles("advisor")
async def landing(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("console/index.html", request, {})
