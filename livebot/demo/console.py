"""Demo of the advisor console: WeCom group replies go to a local stand-in robot, no network.

The demo's parents group (``wecom-parents-1`` on the ``demo-relay`` source) gets a group robot
whose URL is this server's own ``/demo/robot``, which records what a real robot would have
posted. The queue itself fills from the demo's replayed chat through the FAQ stage.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from livebot.appkeys import CONFIG
from livebot.auth.access import csrf_exempt, roles
from livebot.chat.replies import REPLIES
from livebot.chat.replies.robot import WecomRobotSender
from livebot.console.state import CONSOLE
from livebot.storage.base import utcnow

GROUP_SOURCE = "demo-relay"
GROUP_CHANNEL = "wecom-parents-1"
ROBOT_LOG_KEEP = 200
ROBOT_LOG: web.AppKey[list[dict[str, Any]]] = web.AppKey("demo.robot_log", list)
"""What the stand-in robot received, newest last (only a demo app has the key and the routes)."""

routes = web.RouteTableDef()


@routes.post("/demo/robot")
@csrf_exempt
async def demo_robot(request: web.Request) -> web.Response:
    """The demo's stand-in for a WeCom group robot: records what would have been posted."""
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return web.json_response({"errcode": 40001, "errmsg": "invalid json"})
    log = request.app[ROBOT_LOG]
    log.append({"at": utcnow().isoformat(), "body": body})
    del log[:-ROBOT_LOG_KEEP]
    return web.json_response({"errcode": 0, "errmsg": "ok"})


@routes.get("/demo/robot")
@roles("advisor", "producer")
async def demo_robot_log(request: web.Request) -> web.Response:
    """What the demo robot received, newest last."""
    return web.json_response({"messages": request.app[ROBOT_LOG]}, dumps=lambda obj: orjson.dumps(obj).decode())


def add_robot(app: web.Application) -> None:
    """Give a demo app the stand-in robot's routes and its log (a production app has neither)."""
    app[ROBOT_LOG] = []
    app.router.add_routes(routes)


async def seed(app: web.Application) -> list[str]:
    """Route the parents group's replies to the stand-in robot."""
    state = app[CONSOLE]
    base = app[CONFIG].server.base_url
    router = app.get(REPLIES)
    if router is not None and state.http is not None and (GROUP_SOURCE, GROUP_CHANNEL) not in router.robots:
        router.robots[(GROUP_SOURCE, GROUP_CHANNEL)] = WecomRobotSender(state.http, f"{base}/demo/robot?key=demo")
    return [
        f"  问答工作台 / advisor console: {base}/console （advisor / livebot-advisor，advisor2 / livebot-advisor）",
        f"  企业微信群回复（演示，不出网）/ demo group robot log: {base}/demo/robot",
    ]
