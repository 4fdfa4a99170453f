"""``GET /healthz``: 200 when storage (and a remote bus) answer, 503 naming what does not."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from livebot import __version__
from livebot.appkeys import BUS, DATABASE
from livebot.auth.access import public
from livebot.errors import LivebotError

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    for name, ping in (("storage", request.app[DATABASE].ping), ("bus", request.app[BUS].ping)):
        try:
            await asyncio.wait_for(ping(), timeout=3)
            checks[name] = "ok"
        except (LivebotError, TimeoutError) as err:
            # which dependency is down, never its address or driver message (those go to the log)
            logger.warning("healthz: %s is down: %s", name, err)
            checks[name] = "timeout" if isinstance(err, TimeoutError) else "unavailable"
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "version": __version__, "checks": checks}
    return web.json_response(body, status=200 if ok else 503)
