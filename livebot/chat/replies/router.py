"""Which sender answers which question, built once from the config.

Order: a group robot for the question's (source, channel), then one for the whole source,
then the source's own channel back (微信客服 ``send_msg`` for ``wecom_kf``, ``reply_url`` for a
``webhook`` source that has one). Anything else cannot be answered on the platform
(:class:`NoReplyRoute`): the console features it on screen instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from livebot.chat.replies.base import ReplyResult, ReplySender, ReplyTarget
from livebot.chat.replies.errors import NoReplyRoute
from livebot.chat.replies.kf import WecomKfSender
from livebot.chat.replies.robot import WecomRobotSender
from livebot.chat.replies.settings import RepliesSettings
from livebot.chat.replies.webhook import WebhookReplySender
from livebot.chat.sources.registry import source_class
from livebot.chat.sources.wecom_api import WecomApi
from livebot.config import Config, parse_dataclass
from livebot.errors import ConfigError

ANY_CHANNEL = ""


@dataclass(frozen=True)
class Route:
    """One planned sender: ``kind`` is ``wecom_robot``, ``wecom_kf`` or ``webhook``."""

    kind: str
    source: str
    channel: str
    options: Any


def plan(config: Config) -> list[Route]:
    """Every reply route the config describes; ConfigError (naming the key) for a bad one."""
    settings = config.section("replies", RepliesSettings)
    routes: list[Route] = []
    source_ids = {s.id for s in config.sources}
    for index, robot in enumerate(settings.robots):
        if robot.source not in source_ids:
            raise ConfigError(f"replies.robots[{index}].source", f"no [[sources]] entry has id {robot.source!r}")
        routes.append(Route("wecom_robot", robot.source, robot.channel, robot.url))
    for index, item in enumerate(config.sources):
        if item.type not in ("wecom_kf", "webhook"):
            continue
        options = parse_dataclass(source_class(item.type, index).Settings, item.options, f"sources[{index}]")
        if item.type == "wecom_kf":
            routes.append(Route("wecom_kf", item.id, ANY_CHANNEL, options))
        elif getattr(options, "reply_url", ""):
            routes.append(Route("webhook", item.id, ANY_CHANNEL, options))
    return routes


class ReplyRouter:
    """Finds and calls the sender for a :class:`ReplyTarget`."""

    def __init__(self) -> None:
        self.robots: dict[tuple[str, str], ReplySender] = {}
        self.sources: dict[str, ReplySender] = {}

    @classmethod
    def build(cls, routes: list[Route], session: aiohttp.ClientSession) -> ReplyRouter:
        """Senders for ``routes`` sharing one HTTP session (owned by the caller)."""
        router = cls()
        for route in routes:
            if route.kind == "wecom_robot":
                router.robots[(route.source, route.channel)] = WecomRobotSender(session, route.options)
            elif route.kind == "wecom_kf":
                opts = route.options
                router.sources[route.source] = WecomKfSender(WecomApi(session, opts.corp_id, opts.secret, opts.api_base))
            elif route.kind == "webhook":
                router.sources[route.source] = WebhookReplySender(session, route.options.reply_url, route.options.secret)
        return router

    def sender_for(self, target: ReplyTarget) -> ReplySender | None:
        """The sender that would answer ``target``, or None when it cannot be answered on the platform."""
        return (self.robots.get((target.source, target.channel))
                or self.robots.get((target.source, ANY_CHANNEL))
                or self.sources.get(target.source))

    async def send(self, target: ReplyTarget, text: str) -> ReplyResult:
        """Deliver ``text``; :class:`ReplyError` (``retryable`` says whether to try again)."""
        sender = self.sender_for(target)
        if sender is None:
            raise NoReplyRoute(f"no reply route for source {target.source!r} channel {target.channel!r}")
        return await sender.send(target, text)


REPLIES: web.AppKey[ReplyRouter] = web.AppKey("chat.replies")
