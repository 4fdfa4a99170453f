"""WeCom group robot (群机器人) sender: POST a text message to the robot's webhook URL.

A robot answers ``{"errcode": 0, "errmsg": "ok"}``. It takes at most 20 messages a minute
(errcode 45009 beyond that: retryable) and has no idempotency key, so a retry after a timeout
may post twice. The URL carries the robot's key: it is never logged.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
import orjson

from livebot.chat.replies.base import ReplyResult, ReplyTarget, checked_text
from livebot.chat.replies.errors import ReplyRejected, ReplyUnavailable
from livebot.chat.sources.wecom_api import RETRYABLE_ERRORS

logger = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """The URL without its query (where the robot key lives), for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class WecomRobotSender:
    """Posts to one robot (one WeCom group)."""

    name = "wecom_robot"

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def send(self, target: ReplyTarget, text: str) -> ReplyResult:
        """Send ``text`` to the group; the target only names the question for logging."""
        content = checked_text(text, self.name)
        body = orjson.dumps({"msgtype": "text", "text": {"content": content}})
        where = redacted(self.url)
        try:
            async with self.session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise ReplyUnavailable(f"robot {where} answered HTTP {resp.status}", sender=self.name, code=resp.status)
                if resp.status != 200:
                    raise ReplyRejected(f"robot {where} answered HTTP {resp.status}", sender=self.name, code=resp.status)
                raw = await resp.read()
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ReplyUnavailable(f"robot {where} unreachable: {type(err).__name__}", sender=self.name) from err
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise ReplyUnavailable(f"robot {where} answered something that is not JSON", sender=self.name) from err
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        if errcode != 0:
            message = f"robot {where} errcode {errcode}: {answer.get('errmsg', '') if isinstance(answer, dict) else ''}"
            if errcode in RETRYABLE_ERRORS:
                raise ReplyUnavailable(message, sender=self.name, code=errcode)
            raise ReplyRejected(message, sender=self.name, code=errcode if isinstance(errcode, int) else None)
        logger.info("reply via=%s source=%s channel=%s event=%s sent", self.name, target.source, target.channel,
                    target.event_id)
        return ReplyResult(sender=self.name)
