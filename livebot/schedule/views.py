"""The 导播台 page (/producer)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from livebot.auth.access import roles

routes = web.RouteTableDef()


@routes.get("/producer")
@roles("producer")
async def landing(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("schedule/producer.html", request, {})
