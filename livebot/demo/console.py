"""Demo of the advisor console: WeCom group replies go to a local stand-in robot, no network.

The demo's parents group (``wecom-parents-1`` on the ``demo-relay`` source) gets a group robot
whose URL is this server's own ``/demo/robot``, which records what a real robot would have
posted. The queue itself fills from the demo's replayed chat through the FAQ stage.
"""

from __future__ import annotations

from aiohttp import web

from livebot.appkeys import CONFIG
from livebot.chat.replies import REPLIES
from livebot.chat.replies.robot import WecomRobotSender
from livebot.console.state import CONSOLE

GROUP_SOURCE = "demo-relay"
GROUP_CHANNEL = "wecom-parents-1"


async def seed(app: web.Application) -> list[str]:
    """Switch on the demo robot sink and route the parents group's replies to it."""
    state = app[CONSOLE]
    state.demo_sink = []
    base = app[CONFIG].server.base_url
    router = app.get(REPLIES)
    if router is not None and state.http is not None and (GROUP_SOURCE, GROUP_CHANNEL) not in router.robots:
        router.robots[(GROUP_SOURCE, GROUP_CHANNEL)] = WecomRobotSender(state.http, f"{base}/demo/robot?key=demo")
    return [
        f"  问答工作台 / advisor console: {base}/console （advisor / livebot-advisor，advisor2 / livebot-advisor）",
        f"  企业微信群回复（演示，不出网）/ demo group robot log: {base}/demo/robot",
    ]
