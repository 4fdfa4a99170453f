"""WeCom group robot (群机器人) sender: a reply posted through :mod:`livebot.platforms.wecom_robot`,
whose refusals become retryable or final reply errors."""

from __future__ import annotations

import logging

import aiohttp

from livebot.chat.replies.base import ReplyResult, ReplyTarget, checked_text
from livebot.chat.replies.errors import ReplyRejected, ReplyUnavailable
from livebot.platforms import wecom_robot

logger = logging.getLogger(__name__)


class WecomRobotSender:
    """Posts to one robot (one WeCom group)."""

    name = "wecom_robot"

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def send(self, target: ReplyTarget, text: str) -> ReplyResult:
        """Send ``text`` to the group; the target only names the question for logging."""
        content = checked_text(text, self.name)
        answer = await wecom_robot.post(self.session, self.url, wecom_robot.text_message(content))
        if not answer.ok:
            error = ReplyUnavailable if answer.retryable else ReplyRejected
            raise error(f"robot {answer.reason}", sender=self.name, code=answer.code)
        logger.info("reply via=%s source=%s channel=%s event=%s sent", self.name, target.source, target.channel,
                    target.event_id)
        return ReplyResult(sender=self.name)
